// One subject access request: its deadline, the clips it covers, and a masked export drawn on a still.
import { useEffect, useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Notice, Problem, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { type Box, BoxDrawer } from "./BoxDrawer";

type Detail = Schemas["SubjectRequestDetail"];
type ClipRecord = Schemas["ClipRecord"];
type ExportState = Schemas["ExportState"];
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

function useStill(clip: ClipRecord) {
  const { api } = useArchive();
  return useLoad(async () => {
    const query = { from: clip.start, to: clip.end, limit: 10 };
    const page = await unwrap(api.GET("/cameras/{camera_id}/clips", { params: { path: { camera_id: clip.camera_id }, query } }));
    return page.clips.find((found) => found.clip_id === clip.clip_id)?.thumbnails[0] ?? null;
  }, [api, clip.clip_id]);
}

function ExportForm({ request, clip }: { request: Detail; clip: ClipRecord }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const still = useStill(clip);
  const [boxes, setBoxes] = useState<Box[]>([]);
  const [exported, setExported] = useState<ExportState | null>(null);
  const action = useAction();
  const video = { width: clip.video?.width ?? 1, height: clip.video?.height ?? 1 };
  const duration = clip.video?.duration_s ?? 0;
  const submit = (event: Event) => {
    const values = formValues(event);
    const body: Schemas["ExportRequest"] = {
      clip_id: clip.clip_id,
      stills_at_s: [Number(values.still_at ?? "0")],
      excerpt: values.excerpt_to ? { start_s: Number(values.excerpt_from ?? "0"), end_s: Number(values.excerpt_to) } : null,
      boxes,
    };
    action.run(async () => {
      const path = { request_id: request.request_id };
      setExported(await unwrap(api.POST("/subject-requests/{request_id}/exports", { params: { path }, body })));
    });
  };
  return (
    <section class="panel" aria-labelledby="export">
      <h2 id="export">{t("masked_export")}</h2>
      <p class="hint">{t("draw_boxes_how")}</p>
      <Problem error={still.error} />
      {still.data ? <BoxDrawer still={still.data} video={video} boxes={boxes} onChange={setBoxes} /> : null}
      <form onSubmit={submit}>
        <label>
          {t("still_at")}
          <input name="still_at" type="number" min={0} max={duration} step={0.1} defaultValue="0" />
        </label>
        <label>
          {t("excerpt_from")}
          <input name="excerpt_from" type="number" min={0} max={duration} step={0.1} defaultValue="0" />
        </label>
        <label>
          {t("excerpt_to")}
          <input name="excerpt_to" type="number" min={0} max={duration} step={0.1} defaultValue={String(Math.min(duration, 5))} />
        </label>
        <button type="submit" disabled={action.busy}>
          {t("make_export")}
        </button>
      </form>
      <Problem error={action.error} />
      {exported ? <ExportStatus requestId={request.request_id} exportId={exported.export_id} /> : null}
    </section>
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
