// The requester marked with one click on one frame of the excerpt: the dpo picks the frame with a slider and
// clicks the person; the archive keeps the track under that point (and what goes with it) visible. Seeing the
// frame is a view of the footage like any other: a signed URL asked for with its purpose, and audited.
import { useRef, useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { Problem, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";

export type RequesterMark = Schemas["RequesterMark"];

interface Size {
  width: number;
  height: number;
}

const FRAME_STEP_S = 0.1;

/** A click at `click` on the video as shown `shown` big, in the video's own pixels. */
export function pointInVideo(click: { x: number; y: number }, shown: Size, video: Size): { x: number; y: number } {
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

export function RequesterOnFrame(props: {
  clipId: string;
  startS: number;
  endS: number;
  purpose: string;
  mark: RequesterMark | null;
  onMark: (mark: RequesterMark | null) => void;
}) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const video = useRef<HTMLVideoElement>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [shownAt, setShownAt] = useState(props.startS);
  const [dot, setDot] = useState<{ left: number; top: number } | null>(null);
  const range = frameRange(props.startS, props.endS);

  const show = () =>
    action.run(async () => {
      const body = { purpose: props.purpose, download: false };
      setUrl((await unwrap(api.POST("/clips/{clip_id}/view", { params: { path: { clip_id: props.clipId } }, body }))).url);
    });
  const seek = (seconds: number) => {
    setShownAt(seconds);
    if (video.current) {
      video.current.currentTime = seconds;
    }
  };
  const mark = (event: MouseEvent) => {
    const element = video.current;
    if (!element?.videoWidth) {
      return; // not loaded yet: nothing to click on
    }
    const box = element.getBoundingClientRect();
    const click = { x: event.clientX - box.left, y: event.clientY - box.top };
    setDot({ left: click.x, top: click.y });
    const point = pointInVideo(click, box, { width: element.videoWidth, height: element.videoHeight });
    props.onMark({ at_s: Number(element.currentTime.toFixed(3)), ...point });
  };

  if (url === null) {
    return (
      <div class="requester-frame">
        <button type="button" onClick={show} disabled={action.busy}>
          {t("show_frame_to_mark")}
        </button>
        <Problem error={action.error} />
      </div>
    );
  }
  const onShownFrame = props.mark !== null && Math.abs(props.mark.at_s - shownAt) < FRAME_STEP_S / 2;
  return (
    <div class="requester-frame">
      <p class="hint">{t("mark_requester_how")}</p>
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
      <div class="canvas" data-testid="requester-canvas" onClick={mark}>
        <video
          ref={video}
          src={url}
          muted
          playsInline
          preload="auto"
          aria-label={t("frame_to_mark")}
          onLoadedMetadata={(event) => {
            event.currentTarget.currentTime = shownAt;
          }}
        />
        {onShownFrame && dot ? <span class="requester-dot" style={{ left: `${dot.left}px`, top: `${dot.top}px` }} /> : null}
      </div>
      {props.mark ? (
        <p role="status">
          {t("requester_marked", { at: props.mark.at_s.toFixed(1), x: String(props.mark.x), y: String(props.mark.y) })}{" "}
          <button type="button" onClick={() => (setDot(null), props.onMark(null))}>
            {t("clear_mark")}
          </button>
        </p>
      ) : null}
    </div>
  );
}
