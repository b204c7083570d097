// One subject access request: its deadline, the clips it covers, and a masked export: the excerpt's faces,
// people and plates found by the redaction function, reviewed here (keep, mask, mark the requester, add boxes),
// then exported as the review decided.
import { useEffect, useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Notice, Problem, formChecked, formValues, useAction } from "../components/ui";
import { type MessageKey, useI18n } from "../i18n/i18n";
import { type Box, BoxDrawer } from "./BoxDrawer";

type Detail = Schemas["SubjectRequestDetail"];
type ClipRecord = Schemas["ClipRecord"];
type ExportState = Schemas["ExportState"];
type RedactionView = Schemas["RedactionView"];
type Redaction = Schemas["Redaction"];
const POLL_MS = 1000;
const KINDS: Record<string, MessageKey> = {
  face: "kind_face",
  person: "kind_person",
  plate: "kind_plate",
  moving: "kind_moving",
};

export function RequestScreen({ requestId }: { requestId: string }) {
  const { api, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const found = useLoad(
    () => unwrap(api.GET("/subject-requests/{request_id}", { params: { path: { request_id: requestId } } })),
    [api, requestId],
  );
  const [chosen, setChosen] = useState<ClipRecord | null>(null);
  const request = found.data;
  if (request === null) {
    return (
      <main>
        <Loading when={found.loading} />
        <Problem error={found.error} />
      </main>
    );
  }
  const zone = zoneOf(request.site);
  return (
    <main>
      <h1>{t("subject_request")}</h1>
      <dl>
        <dt>{t("how_to_recognise")}</dt>
        <dd>{request.description}</dd>
        <dt>{t("received_on")}</dt>
        <dd>{request.received}</dd>
        <dt>{t("deadline")}</dt>
        <dd class={request.overdue ? "overdue" : ""}>
          {request.deadline} {request.overdue ? `(${t("overdue")})` : null}
          {request.extended ? ` · ${t("extended")}` : null}
        </dd>
        <dt>{t("window")}</dt>
        <dd>
          {time(request.start, zone)} – {time(request.end, zone)}
        </dd>
      </dl>
      <h2>{t("matching_clips", { count: request.clips.length })}</h2>
      <ul>
        {request.clips.map((clip) => (
          <li key={clip.clip_id}>
            <button type="button" onClick={() => setChosen(clip)} aria-pressed={chosen?.clip_id === clip.clip_id}>
              {clip.camera_id} · {time(clip.start, zone)} – {time(clip.end, zone)}
            </button>
          </li>
        ))}
      </ul>
      {chosen && request.status === "open" ? <ExportForm request={request} clip={chosen} /> : null}
      {request.status === "open" ? <Lifecycle request={request} onChanged={found.reload} /> : null}
    </main>
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

function ExportForm({ request, clip }: { request: Detail; clip: ClipRecord }) {
  const { t } = useI18n();
  const [found, setFound] = useState<RedactionView | null>(null);
  const [reviewed, setReviewed] = useState<Redaction | null>(null);
  return (
    <section class="panel" aria-labelledby="export">
      <h2 id="export">{t("masked_export")}</h2>
      <RedactStep request={request} clip={clip} onFound={(view) => (setFound(view), setReviewed(null))} />
      {found ? <ReviewStep requestId={request.request_id} clip={clip} redaction={found} onReviewed={setReviewed} /> : null}
      {reviewed ? <ExportStep requestId={request.request_id} redaction={reviewed} /> : null}
    </section>
  );
}

function RedactStep(props: { request: Detail; clip: ClipRecord; onFound: (found: RedactionView) => void }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [waiting, setWaiting] = useState(false);
  const duration = props.clip.video?.duration_s ?? 0;
  const submit = (event: Event) => {
    const values = formValues(event);
    const body = { clip_id: props.clip.clip_id, start_s: Number(values.excerpt_from ?? "0"), end_s: Number(values.excerpt_to) };
    action.run(async () => {
      const path = { request_id: props.request.request_id };
      const started = await unwrap(api.POST("/subject-requests/{request_id}/redactions", { params: { path }, body }));
      setWaiting(true);
      try {
        const where = { params: { path: { ...path, redaction_id: started.redaction_id } } };
        let view = await unwrap(api.GET("/subject-requests/{request_id}/redactions/{redaction_id}", where));
        while (view.status === "pending") {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          view = await unwrap(api.GET("/subject-requests/{request_id}/redactions/{redaction_id}", where));
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
      <button type="submit" disabled={action.busy}>
        {t("find_to_mask")}
      </button>
      {waiting ? <p role="status">{t("redaction_pending")}</p> : null}
      <Problem error={action.error} />
    </form>
  );
}

function ReviewStep(props: {
  requestId: string;
  clip: ClipRecord;
  redaction: RedactionView;
  onReviewed: (reviewed: Redaction) => void;
}) {
  const { api } = useArchive();
  const { t } = useI18n();
  const still = useStill(props.clip);
  const [boxes, setBoxes] = useState<Box[]>([]);
  const action = useAction();
  const { redaction } = props;
  const video = { width: props.clip.video?.width ?? 1, height: props.clip.video?.height ?? 1 };
  const submit = (event: Event) => {
    event.preventDefault();
    const keep = formChecked(event, "keep");
    const requester = formChecked(event, "requester")[0] ?? null;
    const manual = boxes.map((box) => ({ ...box, first_s: redaction.start_s, last_s: redaction.end_s }));
    const body: Schemas["Review"] = { audience: "subject", keep, requester_track: requester, manual };
    action.run(async () => {
      const path = { request_id: props.requestId, redaction_id: redaction.redaction_id };
      props.onReviewed(
        await unwrap(api.PUT("/subject-requests/{request_id}/redactions/{redaction_id}/review", { params: { path }, body })),
      );
    });
  };
  return (
    <form onSubmit={submit} aria-label={t("review_tracks")}>
      <h3>{t("review_tracks")}</h3>
      <p class="hint">{t("review_how")}</p>
      {(redaction.tracks ?? []).length === 0 ? <p>{t("no_tracks")}</p> : null}
      <ul class="tracks" aria-label={t("found_tracks")}>
        {(redaction.tracks ?? []).map((track) => (
          <li key={track.track_id}>
            {track.thumbnails_url ? (
              <img src={track.thumbnails_url} alt={t("track_strip", { id: track.track_id })} height={64} />
            ) : null}
            <span>
              {t(KINDS[track.kind] ?? "kind_moving")} · {t("track_span", { from: track.first_s.toFixed(1), to: track.last_s.toFixed(1) })}
            </span>
            <label>
              <input type="checkbox" name="keep" value={track.track_id} /> {t("keep_visible")}
            </label>
            <label>
              <input type="radio" name="requester" value={track.track_id} /> {t("is_requester")}
            </label>
          </li>
        ))}
      </ul>
      <p class="hint">{t("add_boxes_how")}</p>
      <Problem error={still.error} />
      {still.data ? <BoxDrawer still={still.data} video={video} boxes={boxes} onChange={setBoxes} /> : null}
      <button type="submit" disabled={action.busy}>
        {t("save_review")}
      </button>
      <Problem error={action.error} />
    </form>
  );
}

function ExportStep({ requestId, redaction }: { requestId: string; redaction: Redaction }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const [exported, setExported] = useState<ExportState | null>(null);
  const action = useAction();
  const submit = (event: Event) => {
    const values = formValues(event);
    const body: Schemas["ExportRequest"] = {
      clip_id: redaction.clip_id,
      redaction_id: redaction.redaction_id,
      stills_at_s: [Number(values.still_at ?? String(redaction.start_s))],
      excerpt: { start_s: redaction.start_s, end_s: redaction.end_s },
    };
    action.run(async () => {
      const path = { request_id: requestId };
      setExported(await unwrap(api.POST("/subject-requests/{request_id}/exports", { params: { path }, body })));
    });
  };
  const masked = redaction.review?.masked?.length ?? 0;
  return (
    <form onSubmit={submit} aria-label={t("make_export")}>
      <Notice>{t("review_saved", { masked })}</Notice>
      <label>
        {t("still_at")}
        <input
          name="still_at"
          type="number"
          min={redaction.start_s}
          max={redaction.end_s}
          step={0.1}
          defaultValue={String(redaction.start_s)}
        />
      </label>
      <button type="submit" disabled={action.busy}>
        {t("make_export")}
      </button>
      <Problem error={action.error} />
      {exported ? <ExportStatus requestId={requestId} exportId={exported.export_id} /> : null}
    </form>
  );
}

function ExportStatus({ requestId, exportId }: { requestId: string; exportId: string }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const [state, setState] = useState<ExportState | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      const path = { request_id: requestId, export_id: exportId };
      const now = await unwrap(api.GET("/subject-requests/{request_id}/exports/{export_id}", { params: { path } }));
      if (stopped) {
        return;
      }
      setState(now);
      if (now.status === "pending") {
        setTimeout(() => void poll().catch(setFailure), POLL_MS);
      }
    };
    void poll().catch(setFailure);
    return () => {
      stopped = true;
    };
  }, [api, requestId, exportId]);
  if (failure) {
    return <Problem error={failure} />;
  }
  if (state === null || state.status === "pending") {
    return <p role="status">{t("export_pending")}</p>;
  }
  if (state.status !== "ready" || !state.url) {
    return <p class="problem" role="alert">{t("export_failed", { why: state.failure ?? state.status })}</p>;
  }
  return (
    <div class="export-ready" role="status">
      <p>
        {t("export_ready")} {t("sha256")} <code data-testid="export-sha256">{state.sha256}</code>
      </p>
      <a href={state.url} download data-testid="export-download">
        {t("download_export")}
      </a>
    </div>
  );
}

function Lifecycle({ request, onChanged }: { request: Detail; onChanged: () => void }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [done, setDone] = useState(false);
  const path = { params: { path: { request_id: request.request_id } } };
  const extend = (event: Event) => {
    const { reason = "" } = formValues(event);
    action.run(async () => {
      await unwrap(api.POST("/subject-requests/{request_id}/extension", { ...path, body: { reason } }));
      onChanged();
    });
  };
  const close = (event: Event) => {
    const { outcome = "" } = formValues(event);
    action.run(async () => {
      await unwrap(api.POST("/subject-requests/{request_id}/close", { ...path, body: { outcome } }));
      setDone(true);
      onChanged();
    });
  };
  return (
    <section aria-label={t("answer_request")}>
      {request.extended ? null : (
        <form class="panel" onSubmit={extend}>
          <h2>{t("extend_deadline")}</h2>
          <label>
            {t("reason")}
            <input name="reason" required minLength={5} maxLength={1000} />
          </label>
          <button type="submit" disabled={action.busy}>
            {t("extend")}
          </button>
        </form>
      )}
      <form class="panel" onSubmit={close}>
        <h2>{t("close_request")}</h2>
        <label>
          {t("outcome")}
          <input name="outcome" required minLength={3} maxLength={1000} />
        </label>
        <button type="submit" disabled={action.busy}>
          {t("close_request")}
        </button>
      </form>
      {done ? <Notice>{t("request_closed")}</Notice> : null}
      <Problem error={action.error} />
    </section>
  );
}
