// Redacting an excerpt, for a subject request or a share: the redaction function finds the faces, people and
// plates of one clip's excerpt, and the dpo reviews them here (keep, mask, mark the requester, add boxes).
// The two owners differ in their routes and in who may stay visible, so each passes its own target.
import { useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Problem, formChecked, formValues, useAction } from "../components/ui";
import { type MessageKey, useI18n } from "../i18n/i18n";
import { type Box, BoxList, type ManualBox, StillBoxes, overExcerpt } from "./BoxDrawer";
import { ExcerptFrame, type RequesterMark } from "./ExcerptFrame";

type ClipRecord = Schemas["ClipRecord"];
type RedactionView = Schemas["RedactionView"];
type Redaction = Schemas["Redaction"];
type Audience = Schemas["Audience"];
const POLL_MS = 1000;
const KINDS: Record<string, MessageKey> = {
  face: "kind_face",
  person: "kind_person",
  plate: "kind_plate",
  moving: "kind_moving",
};
const AUDIENCE_LABEL: Record<Audience, MessageKey> = {
  subject: "audience_subject",
  police: "audience_police",
  public: "audience_public",
};
const HOW_TO_REVIEW: Record<Audience, MessageKey> = {
  subject: "review_how",
  police: "review_how_police",
  public: "review_how_public",
};

/** What a redaction is for: how to start, read and review it, and for whom it may be reviewed. */
export interface RedactionTarget {
  start: (body: Schemas["NewShareRedaction"]) => Promise<Redaction>;
  read: (redactionId: string) => Promise<RedactionView>;
  review: (redactionId: string, body: Schemas["Review"]) => Promise<Redaction>;
  /** subject: the requester stays visible; a share: police (kept tracks visible) or public (nobody). */
  audiences: readonly Audience[];
  /** A share delivers stills chosen with the excerpt; a subject access export chooses them later. */
  stills: boolean;
  /** The purpose recorded when the dpo opens the excerpt frame by frame (to mark the requester, draw boxes). */
  framesPurpose: string;
}

export function RedactStep(props: { target: RedactionTarget; clip: ClipRecord; onFound: (found: RedactionView) => void }) {
  const { t } = useI18n();
  const action = useAction();
  const [waiting, setWaiting] = useState(false);
  const duration = props.clip.video?.duration_s ?? 0;
  const submit = (event: Event) => {
    const values = formValues(event);
    const start_s = Number(values.excerpt_from ?? "0");
    const stills = props.target.stills && values.still_at ? [Number(values.still_at)] : [];
    const body = { clip_id: props.clip.clip_id, start_s, end_s: Number(values.excerpt_to), stills_at_s: stills };
    action.run(async () => {
      const started = await props.target.start(body);
      setWaiting(true);
      try {
        let view = await props.target.read(started.redaction_id);
        while (view.status === "pending") {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          view = await props.target.read(started.redaction_id);
        }
        if (view.status === "failed") {
          throw new Error(t("redaction_failed", { why: view.failure ?? "" }));
        }
        props.onFound(view);
      } finally {
        setWaiting(false);
      }
    });
  };
  return (
    <form onSubmit={submit} aria-label={t("find_to_mask")}>
      <label>
        {t("excerpt_from")}
        <input name="excerpt_from" type="number" min={0} max={duration} step={0.1} defaultValue="0" />
      </label>
      <label>
        {t("excerpt_to")}
        <input name="excerpt_to" type="number" min={0} max={duration} step={0.1} defaultValue={String(Math.min(duration, 10))} />
      </label>
      {props.target.stills ? (
        <label>
          {t("still_at")}
          <input name="still_at" type="number" min={0} max={duration} step={0.1} defaultValue="0" />
        </label>
      ) : null}
      <button type="submit" disabled={action.busy}>
        {t("find_to_mask")}
      </button>
      {waiting ? <p role="status">{t("redaction_pending")}</p> : null}
      <Problem error={action.error} />
    </form>
  );
}

function useStill(clip: ClipRecord) {
  const { api } = useArchive();
  return useLoad(async () => {
    const query = { from: clip.start, to: clip.end, limit: 10 };
    const page = await unwrap(api.GET("/cameras/{camera_id}/clips", { params: { path: { camera_id: clip.camera_id }, query } }));
    return page.clips.find((found) => found.clip_id === clip.clip_id)?.stills ?? null;
  }, [api, clip.clip_id]);
}

export function ReviewStep(props: {
  target: RedactionTarget;
  clip: ClipRecord;
  redaction: RedactionView;
  onReviewed: (reviewed: Redaction) => void;
}) {
  const { t } = useI18n();
  const still = useStill(props.clip);
  const [boxes, setBoxes] = useState<ManualBox[]>([]);
  const [mark, setMark] = useState<RequesterMark | null>(null);
  const { audiences } = props.target;
  const [audience, setAudience] = useState<Audience>(audiences[0] ?? "subject");
  const action = useAction();
  const { redaction } = props;
  const tracks = redaction.tracks ?? [];
  const video = { width: props.clip.video?.width ?? 1, height: props.clip.video?.height ?? 1 };
  const span = { start_s: redaction.start_s, end_s: redaction.end_s };
  const add = (box: ManualBox) => setBoxes([...boxes, box]);
  const addOverExcerpt = (box: Box) => add(overExcerpt(box, span));
  const everyone = audience === "public"; // the press: nobody stays visible, so nothing to keep
  const submit = (event: Event) => {
    event.preventDefault();
    const keep = everyone ? [] : formChecked(event, "keep");
    // The requester marked once: by the click on a frame if there is one, else by the track picked.
    const clicked = audience === "subject" ? mark : null;
    const picked = audience === "subject" && clicked === null ? (formChecked(event, "requester")[0] ?? null) : null;
    const body: Schemas["Review"] = { audience, keep, requester: clicked, requester_track: picked, manual: boxes };
    action.run(async () => props.onReviewed(await props.target.review(redaction.redaction_id, body)));
  };
  return (
    <form onSubmit={submit} aria-label={t("review_tracks")}>
      <h3>{t("review_tracks")}</h3>
      {audiences.length > 1 ? <AudienceChoice audiences={audiences} chosen={audience} onChoose={setAudience} /> : null}
      <p class="hint">{t(HOW_TO_REVIEW[audience])}</p>
      <ExcerptFrame
        clipId={props.clip.clip_id}
        span={span}
        video={video}
        purpose={props.target.framesPurpose}
        boxes={boxes}
        onBox={add}
        marking={audience === "subject" ? { mark, onMark: setMark } : undefined}
      />
      {tracks.length === 0 ? <p>{t("no_tracks")}</p> : null}
      <ul class="tracks" aria-label={t("found_tracks")}>
        {tracks.map((track) => (
          <TrackItem key={track.track_id} track={track} audience={audience} markedOnFrame={mark !== null} />
        ))}
      </ul>
      <p class="hint">{t("add_boxes_how")}</p>
      <Problem error={still.error} />
      {still.data ? <StillBoxes still={still.data} video={video} boxes={boxes} onBox={addOverExcerpt} /> : null}
      <BoxList boxes={boxes} span={span} video={video} onChange={setBoxes} />
      <button type="submit" disabled={action.busy}>
        {t("save_review")}
      </button>
      <Problem error={action.error} />
    </form>
  );
}

function AudienceChoice(props: { audiences: readonly Audience[]; chosen: Audience; onChoose: (chosen: Audience) => void }) {
  const { t } = useI18n();
  return (
    <fieldset>
      <legend>{t("redacted_for")}</legend>
      {props.audiences.map((choice) => (
        <label key={choice} class="check">
          <input type="radio" name="audience" value={choice} checked={props.chosen === choice} onChange={() => props.onChoose(choice)} />{" "}
          {t(AUDIENCE_LABEL[choice])}
        </label>
      ))}
    </fieldset>
  );
}

function TrackItem(props: { track: Schemas["ReviewedTrack"]; audience: Audience; markedOnFrame: boolean }) {
  const { t } = useI18n();
  const { track, audience } = props;
  return (
    <li>
      {track.thumbnails_url ? <img src={track.thumbnails_url} alt={t("track_strip", { id: track.track_id })} height={64} /> : null}
      <div class="track-controls">
        <span class="track-kind">
          {t(KINDS[track.kind] ?? "kind_moving")} · {t("track_span", { from: track.first_s.toFixed(1), to: track.last_s.toFixed(1) })}
        </span>
        {audience === "public" ? null : (
          <label class="check">
            <input type="checkbox" name="keep" value={track.track_id} /> {t("keep_visible")}
          </label>
        )}
        {audience === "subject" ? (
          <label class="check">
            <input type="radio" name="requester" value={track.track_id} disabled={props.markedOnFrame} /> {t("is_requester")}
          </label>
        ) : null}
      </div>
    </li>
  );
}
