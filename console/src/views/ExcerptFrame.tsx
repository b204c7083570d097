// The excerpt frame by frame, for the review: the dpo picks a frame with a slider, then clicks on the requester
// (the archive keeps the track under that point, and what goes with it, visible) or drags a box over someone
// the detectors missed (masked from that frame on). Seeing the frames is a view of the footage like any other:
// a signed URL asked for with its purpose, and audited.
import { useRef, useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { useArchive } from "../components/context";
import { Problem, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { type Box, type ManualBox, type Point, ShownMask, type Size, type Span, covers, useDrawing } from "./BoxDrawer";
import { type Grant, askToView, expired } from "./Player";

export type RequesterMark = Schemas["RequesterMark"];

const FRAME_STEP_S = 0.1;

/** A click at `click` on the video as shown `shown` big, in the video's own pixels. */
export function pointInVideo(click: Point, shown: Size, video: Size): Point {
  const clamp = (value: number, most: number) => Math.min(most, Math.max(0, Math.round(value)));
  return {
    x: clamp((click.x * video.width) / shown.width, video.width),
    y: clamp((click.y * video.height) / shown.height, video.height),
  };
}

/** The seconds the slider may show: the excerpt's frames, its end excluded. */
export function frameRange(startS: number, endS: number): { min: number; max: number } {
  return { min: startS, max: Math.max(startS, endS - FRAME_STEP_S) };
}

/** The requester's mark, for a review that has a requester. */
export interface Marking {
  mark: RequesterMark | null;
  onMark: (mark: RequesterMark | null) => void;
}

export function ExcerptFrame(props: {
  clipId: string;
  span: Span;
  video: Size;
  purpose: string;
  boxes: ManualBox[];
  onBox: (box: ManualBox) => void;
  marking?: Marking;
}) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const video = useRef<HTMLVideoElement>(null);
  const [grant, setGrant] = useState<Grant | null>(null);
  const [unplayable, setUnplayable] = useState(false);
  const [shownAt, setShownAt] = useState(props.span.start_s);
  const range = frameRange(props.span.start_s, props.span.end_s);
  const { marking } = props;

  const frameTime = () => Number((video.current?.currentTime ?? shownAt).toFixed(3));
  const markAt = (click: Point) => {
    const element = video.current;
    if (!marking || !element?.videoWidth) {
      return; // nobody to mark here, or nothing loaded to click on yet
    }
    const shown = { width: element.clientWidth, height: element.clientHeight };
    marking.onMark({ at_s: frameTime(), ...pointInVideo(click, shown, props.video) });
  };
  const drawn = (box: Box) => props.onBox({ ...box, first_s: frameTime(), last_s: props.span.end_s });
  const drawing = useDrawing(props.video, () => video.current?.clientWidth ?? 0, drawn, markAt);

  const show = () => action.run(async () => setGrant(await askToView(api, props.clipId, { purpose: props.purpose })));
  // A frame the browser cannot fetch any more because its URL expired is asked for again (a new, audited
  // view); one it cannot decode (HEVC in most browsers) is not: the tracks and the still remain.
  const failed = () => {
    if (grant && expired(grant)) {
      show();
    } else {
      setUnplayable(true);
    }
  };
  const seek = (seconds: number) => {
    setShownAt(seconds);
    if (video.current) {
      video.current.currentTime = seconds;
    }
  };

  if (grant === null) {
    return (
      <div class="excerpt-frame">
        <button type="button" onClick={show} disabled={action.busy}>
          {t("show_frames")}
        </button>
        <Problem error={action.error} />
      </div>
    );
  }
  if (unplayable) {
    return <p class="problem" role="alert">{t("frames_unplayable")}</p>;
  }
  const mark = marking?.mark ?? null;
  const markShown = mark !== null && Math.abs(mark.at_s - shownAt) < FRAME_STEP_S / 2;
  return (
    <div class="excerpt-frame">
      <p class="hint">{t(marking ? "frames_how_requester" : "frames_how")}</p>
      <label class="check">
        {t("frame_at")}
        <input
          type="range"
          min={range.min}
          max={range.max}
          step={FRAME_STEP_S}
          value={shownAt}
          onInput={(event) => seek(Number(event.currentTarget.value))}
        />
        <output>{t("seconds", { value: shownAt.toFixed(1) })}</output>
      </label>
      <div class="canvas" data-testid="frame-canvas" {...drawing.handlers}>
        <video
          ref={video}
          src={grant.url}
          muted
          playsInline
          preload="auto"
          aria-label={t("frame_of_excerpt")}
          onLoadedMetadata={(event) => {
            event.currentTarget.currentTime = shownAt;
          }}
          onError={failed}
        />
        {props.boxes
          .filter((box) => covers(box, shownAt))
          .map((box, index) => (
            <ShownMask key={index} box={box} scale={drawing.scale()} />
          ))}
        {markShown ? (
          <span class="requester-dot" style={{ left: `${mark.x / drawing.scale()}px`, top: `${mark.y / drawing.scale()}px` }} />
        ) : null}
      </div>
      {marking && mark ? (
        <p>
          {t("requester_marked", { at: mark.at_s.toFixed(1), x: String(mark.x), y: String(mark.y) })}{" "}
          <button type="button" onClick={() => marking.onMark(null)}>
            {t("clear_mark")}
          </button>
        </p>
      ) : null}
    </div>
  );
}
