// The data protection officer's queues: shares to approve, subject requests by deadline, cases past their
// review, the retention policy.
import { useState } from "preact/hooks";
import { type Schemas, apiRoot, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Notice, Problem, ShownOnce, formChecked, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { siteTimeToUtc, utcToSiteTime } from "../timeline/zone";
import { CaseList } from "./Cases";
import { hrefOf } from "./routes";

export function DpoScreen({ site }: { site: string }) {
  const { t } = useI18n();
  return (
    <main>
      <h1>{t("nav_dpo")}</h1>
      <Approvals site={site} />
      <SubjectRequests site={site} />
      <DueForReview site={site} />
      <Retention site={site} />
    </main>
  );
}

function Approvals({ site }: { site: string }) {
  const { api, identity, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const queue = useLoad(
    async () => (await unwrap(api.GET("/shares", { params: { query: { site, status: "requested" } } }))).shares,
    [api, site],
  );
  const action = useAction();
  const [link, setLink] = useState<string | null>(null);
  const decide = (shareId: string, approve: boolean) =>
    action.run(async () => {
      const path = { params: { path: { share_id: shareId } } };
      if (approve) {
        const approved = await unwrap(api.POST("/shares/{share_id}/approval", path));
        setLink(new URL(approved.link, `${apiRoot(location)}/`).href);
      } else {
        await unwrap(api.POST("/shares/{share_id}/revocation", path));
      }
      queue.reload();
    });
  return (
    <section aria-labelledby="approvals">
      <h2 id="approvals">{t("shares_awaiting")}</h2>
      <Loading when={queue.loading} />
      <Problem error={queue.error ?? action.error} />
      {link ? <ShownOnce label={t("recipient_link")} value={link} /> : null}
      {queue.data?.length === 0 ? <p>{t("nothing_waiting")}</p> : null}
      <ul class="cards">
        {(queue.data ?? []).map((share) => (
          <li key={share.share_id} data-share={share.share_id}>
            <p>
              <strong>{share.recipient}</strong> · {t("case")} {share.case_reference}
            </p>
            <p>{share.purpose}</p>
            <p>
              {t("clip_count", { count: share.clip_ids.length })} ·{" "}
              {t("expires", { time: time(share.expires_at, zoneOf(site), false) })} · {t("requested_by", { who: share.requested_by })}
            </p>
            {share.redaction_id ? <p class="hint">{t("share_is_redacted")}</p> : null}
            {share.requested_by === `user:${identity.username}` ? (
              <p class="hint">{t("own_share_no_approval")}</p>
            ) : (
              <div class="actions">
                <button type="button" onClick={() => decide(share.share_id, true)} disabled={action.busy}>
                  {t("approve")}
                </button>
                <a class="button" href={hrefOf({ screen: "redact-share", shareId: share.share_id })}>
                  {t(share.redaction_id ? "redact_share_again" : "redact_share")}
                </a>
                <button type="button" class="danger" onClick={() => decide(share.share_id, false)} disabled={action.busy}>
                  {t("refuse")}
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

const DAY_MS = 86_400_000;

/** Whole days from today to the deadline (negative: overdue), both as dates at the site. */
export function daysLeft(deadline: string, today: string): number {
  return Math.round((Date.parse(deadline) - Date.parse(today)) / DAY_MS);
}

function SubjectRequests({ site }: { site: string }) {
  const { api, zoneOf } = useArchive();
  const { t } = useI18n();
  const requests = useLoad(
    async () => (await unwrap(api.GET("/subject-requests", { params: { query: { site } } }))).requests,
    [api, site],
  );
  const today = utcToSiteTime(Date.now(), zoneOf(site)).slice(0, 10);
  return (
    <section aria-labelledby="requests">
      <h2 id="requests">{t("subject_requests")}</h2>
      <Problem error={requests.error} />
      {requests.data?.length === 0 ? <p>{t("nothing_waiting")}</p> : null}
      <ul class="cards">
        {(requests.data ?? []).map((request) => {
          const left = daysLeft(request.deadline, today);
          return (
            <li key={request.request_id} class={request.overdue ? "overdue" : ""}>
              <a href={hrefOf({ screen: "request", requestId: request.request_id })}>{request.description}</a>
              <span class="deadline" data-overdue={request.overdue}>
                {request.overdue ? t("overdue_by", { count: -left }) : t("due_in", { count: left })} ({request.deadline})
              </span>
            </li>
          );
        })}
      </ul>
      <NewSubjectRequest site={site} onOpened={requests.reload} />
    </section>
  );
}

function NewSubjectRequest({ site, onOpened }: { site: string; onOpened: () => void }) {
  const { api, zoneOf } = useArchive();
  const { t } = useI18n();
  const cameras = useLoad(() => unwrap(api.GET("/sites/{site}/cameras", { params: { path: { site } } })), [api, site]);
  const action = useAction();
  const submit = (event: Event) => {
    const values = formValues(event);
    const zone = zoneOf(site);
    const body: Schemas["NewSubjectRequest"] = {
      site_id: site,
      camera_ids: formChecked(event, "camera_ids"),
      start: new Date(siteTimeToUtc(values.start ?? "", zone)).toISOString(),
      end: new Date(siteTimeToUtc(values.end ?? "", zone)).toISOString(),
      received: values.received ?? "",
      description: values.description ?? "",
    };
    action.run(async () => {
      const opened = await unwrap(api.POST("/subject-requests", { body }));
      onOpened();
      location.hash = hrefOf({ screen: "request", requestId: opened.request_id });
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="new-request">
      <h3 id="new-request">{t("new_subject_request")}</h3>
      <fieldset>
        <legend>{t("cameras")}</legend>
        {(cameras.data?.cameras ?? []).map((camera) => (
          <label key={camera.camera_id} class="check">
            <input type="checkbox" name="camera_ids" value={camera.camera_id} />
            {camera.name}
          </label>
        ))}
      </fieldset>
      <label>
        {t("from")}
        <input name="start" type="datetime-local" step={1} required />
      </label>
      <label>
        {t("to")}
        <input name="end" type="datetime-local" step={1} required />
      </label>
      <label>
        {t("received_on")}
        <input name="received" type="date" required />
      </label>
      <label>
        {t("how_to_recognise")}
        <textarea name="description" required minLength={3} maxLength={500} />
      </label>
      <button type="submit" disabled={action.busy}>
        {t("record_request")}
      </button>
      <Problem error={action.error} />
    </form>
  );
}

function DueForReview({ site }: { site: string }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const due = useLoad(
    async () => (await unwrap(api.GET("/cases", { params: { query: { site, state: "due_for_review" } } }))).cases,
    [api, site],
  );
  return (
    <section aria-labelledby="due">
      <h2 id="due">{t("cases_past_review")}</h2>
      <Problem error={due.error} />
      {due.data ? <CaseList cases={due.data} site={site} /> : null}
    </section>
  );
}

const JUSTIFY_BEYOND_DAYS = 3; // EDPB Guidelines 3/2019 para. 121

function Retention({ site }: { site: string }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const policy = useLoad(() => unwrap(api.GET("/sites/{site}/retention", { params: { path: { site } } })), [api, site]);
  const action = useAction();
  const [days, setDays] = useState<number | null>(null);
  const [saved, setSaved] = useState(false);
  const submit = (event: Event) => {
    const values = formValues(event);
    action.run(async () => {
      const body = { days: Number(values.days), justification: values.justification ?? "" };
      await unwrap(api.PUT("/sites/{site}/retention", { params: { path: { site } }, body }));
      setSaved(true);
      policy.reload();
    });
  };
  const current = policy.data;
  const wanted = days ?? current?.retention_days ?? 0;
  return (
    <section aria-labelledby="retention">
      <h2 id="retention">{t("retention")}</h2>
      <Problem error={policy.error} />
      {current ? (
        <form class="panel" onSubmit={submit}>
          <p>
            {t("retention_now", { count: current.retention_days })} · {t("legal_maximum", { count: current.max_retention_days })}
          </p>
          <p class="hint">{current.legal_basis}</p>
          <label>
            {t("retention_days")}
            <input
              name="days"
              type="number"
              min={1}
              max={current.max_retention_days}
              defaultValue={String(current.retention_days)}
              onInput={(event) => setDays(Number(event.currentTarget.value))}
              required
            />
          </label>
          <label>
            {t("justification")}
            <textarea
              name="justification"
              defaultValue={current.retention_justification}
              required={wanted > JUSTIFY_BEYOND_DAYS}
              maxLength={2000}
            />
          </label>
          {wanted > JUSTIFY_BEYOND_DAYS ? <p class="hint">{t("justification_needed")}</p> : null}
          <button type="submit" disabled={action.busy}>
            {t("save")}
          </button>
          {saved ? <Notice>{t("saved")}</Notice> : null}
          <Problem error={action.error} />
        </form>
      ) : null}
    </section>
  );
}
