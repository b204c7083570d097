// One subject access request: its deadline, the clips it covers, and a masked export: the excerpt's faces,
// people and plates found by the redaction function, reviewed here (keep, mask, mark the requester, add boxes),
// then exported as the review decided.
import { useEffect, useMemo, useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Notice, Problem, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { RedactStep, type RedactionTarget, ReviewStep } from "./Redaction";

type Detail = Schemas["SubjectRequestDetail"];
type ClipRecord = Schemas["ClipRecord"];
type ExportState = Schemas["ExportState"];
type RedactionView = Schemas["RedactionView"];
type Redaction = Schemas["Redaction"];
const POLL_MS = 1000;

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

/** A subject request's redactions: the requester marked stays visible, stills are chosen at the export. */
function useRequestTarget(requestId: string): RedactionTarget {
  const { api } = useArchive();
  const { t } = useI18n();
  const framesPurpose = t("purpose_find_requester", { request: requestId });
  return useMemo(() => {
    const request_id = requestId;
    return {
      start: ({ clip_id, start_s, end_s }) =>
        unwrap(api.POST("/subject-requests/{request_id}/redactions", { params: { path: { request_id } }, body: { clip_id, start_s, end_s } })),
      read: (redaction_id) =>
        unwrap(api.GET("/subject-requests/{request_id}/redactions/{redaction_id}", { params: { path: { request_id, redaction_id } } })),
      review: (redaction_id, body) =>
        unwrap(
          api.PUT("/subject-requests/{request_id}/redactions/{redaction_id}/review", { params: { path: { request_id, redaction_id } }, body }),
        ),
      audiences: ["subject"],
      stills: false,
      framesPurpose,
    };
  }, [api, requestId, framesPurpose]);
}

function ExportForm({ request, clip }: { request: Detail; clip: ClipRecord }) {
  const { t } = useI18n();
  const target = useRequestTarget(request.request_id);
  const [found, setFound] = useState<RedactionView | null>(null);
  const [reviewed, setReviewed] = useState<Redaction | null>(null);
  return (
    <section class="panel" aria-labelledby="export">
      <h2 id="export">{t("masked_export")}</h2>
      <RedactStep target={target} clip={clip} onFound={(view) => (setFound(view), setReviewed(null))} />
      {found ? <ReviewStep target={target} clip={clip} redaction={found} onReviewed={setReviewed} /> : null}
      {reviewed ? <ExportStep requestId={request.request_id} redaction={reviewed} /> : null}
    </section>
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
      <Notice>
        {t("review_saved", { masked })}
        {redaction.review?.requester_tracks?.length ? ` ${t("requester_stays_visible", { tracks: redaction.review.requester_tracks.join(", ") })}` : null}
      </Notice>
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
