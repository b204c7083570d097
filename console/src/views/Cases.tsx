// Cases (legal holds): an investigator opens one, holds footage for it, asks to share it; the dpo may close it.
import { useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Notice, Problem, formChecked, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { SHARE_STATE_LABEL } from "../i18n/labels";
import { siteTimeToUtc } from "../timeline/zone";
import { hrefOf } from "./routes";

type Case = Schemas["Case"];

export function CaseList({ cases, site }: { cases: Case[]; site: string }) {
  const { t, time } = useI18n();
  const { zoneOf } = useArchive();
  if (cases.length === 0) {
    return <p>{t("no_cases")}</p>;
  }
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{t("reference")}</th>
          <th scope="col">{t("reason")}</th>
          <th scope="col">{t("review_date")}</th>
          <th scope="col">{t("status")}</th>
        </tr>
      </thead>
      <tbody>
        {cases.map((found) => (
          <tr key={found.case_id}>
            <td>
              <a href={hrefOf({ screen: "case", caseId: found.case_id })}>{found.reference}</a>
            </td>
            <td>{found.reason}</td>
            <td>{time(found.review_date, zoneOf(site), false)}</td>
            <td>{t(found.status === "open" ? "case_open" : "case_closed")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function CasesScreen({ site }: { site: string }) {
  const { api, identity } = useArchive();
  const { t } = useI18n();
  const [state, setState] = useState<"open" | "closed">("open");
  const cases = useLoad(
    async () => (await unwrap(api.GET("/cases", { params: { query: { site, state } } }))).cases,
    [api, site, state],
  );
  return (
    <main>
      <h1>{t("nav_cases")}</h1>
      <label>
        {t("show")}
        <select value={state} onChange={(event) => setState(event.currentTarget.value as "open" | "closed")}>
          <option value="open">{t("case_open")}</option>
          <option value="closed">{t("case_closed")}</option>
        </select>
      </label>
      <Loading when={cases.loading} />
      <Problem error={cases.error} />
      {cases.data ? <CaseList cases={cases.data} site={site} /> : null}
      {identity.role === "investigator" ? <OpenCase site={site} /> : null}
    </main>
  );
}

function OpenCase({ site }: { site: string }) {
  const { api, zoneOf } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const submit = (event: Event) => {
    const values = formValues(event);
    const review = values.review_date ? new Date(siteTimeToUtc(values.review_date, zoneOf(site))).toISOString() : null;
    action.run(async () => {
      const body = { site_id: site, reference: values.reference ?? "", reason: values.reason ?? "", review_date: review };
      const opened = await unwrap(api.POST("/cases", { body }));
      location.hash = hrefOf({ screen: "case", caseId: opened.case_id });
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="open-case">
      <h2 id="open-case">{t("open_case")}</h2>
      <label>
        {t("reference")}
        <input name="reference" required maxLength={100} />
      </label>
      <label>
        {t("reason")}
        <textarea name="reason" required minLength={5} maxLength={1000} />
      </label>
      <label>
        {t("review_date_optional")}
        <input name="review_date" type="date" />
      </label>
      <button type="submit" disabled={action.busy}>
        {t("open_case")}
      </button>
      <Problem error={action.error} />
    </form>
  );
}

export function CaseScreen({ caseId }: { caseId: string }) {
  const { api, identity, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const found = useLoad(() => unwrap(api.GET("/cases/{case_id}", { params: { path: { case_id: caseId } } })), [api, caseId]);
  const action = useAction();
  const record = found.data;
  if (record === null) {
    return (
      <main>
        <Loading when={found.loading} />
        <Problem error={found.error} />
      </main>
    );
  }
  const zone = zoneOf(record.site);
  const open = record.status === "open";
  const release = (clipId: string) =>
    action.run(async () => {
      await unwrap(api.DELETE("/cases/{case_id}/holds/{clip_id}", { params: { path: { case_id: caseId, clip_id: clipId } } }));
      found.reload();
    });
  const close = (event: Event) => {
    const { reason = "" } = formValues(event);
    action.run(async () => {
      await unwrap(api.POST("/cases/{case_id}/close", { params: { path: { case_id: caseId } }, body: { reason } }));
      found.reload();
    });
  };
  return (
    <main>
      <h1>{t("case_title", { reference: record.reference })}</h1>
      <dl>
        <dt>{t("reason")}</dt>
        <dd>{record.reason}</dd>
        <dt>{t("status")}</dt>
        <dd>{t(open ? "case_open" : "case_closed")}</dd>
        <dt>{t("review_date")}</dt>
        <dd>{time(record.review_date, zone, false)}</dd>
        <dt>{t("opened_by")}</dt>
        <dd>
          {record.opened_by} · {time(record.opened_at, zone, false)}
        </dd>
      </dl>
      <h2>{t("held_clips", { count: record.held_clips.length })}</h2>
      <ul>
        {record.held_clips.map((clipId) => (
          <li key={clipId}>
            <code>{clipId}</code>
            {open && identity.role === "investigator" ? (
              <button type="button" onClick={() => release(clipId)} disabled={action.busy}>
                {t("release")}
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      <Problem error={action.error} />
      {open && identity.role === "investigator" && record.held_clips.length > 0 ? (
        <RequestShare caseId={caseId} clips={record.held_clips} />
      ) : null}
      <CaseShares site={record.site} caseId={caseId} />
      {open ? (
        <form class="panel" onSubmit={close} aria-labelledby="close-case">
          <h2 id="close-case">{t("close_case")}</h2>
          <p class="hint">{t("close_case_what")}</p>
          <label>
            {t("reason")}
            <input name="reason" maxLength={1000} />
          </label>
          <button type="submit" disabled={action.busy}>
            {t("close_case")}
          </button>
        </form>
      ) : null}
    </main>
  );
}

const DAY_MS = 86_400_000;

function RequestShare({ caseId, clips }: { caseId: string; clips: string[] }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [requested, setRequested] = useState<string | null>(null);
  const submit = (event: Event) => {
    const chosen = formChecked(event, "clip_ids");
    const values = formValues(event);
    const days = Number(values.days ?? "2");
    action.run(async () => {
      const body = {
        case_id: caseId,
        clip_ids: chosen,
        recipient: values.recipient ?? "",
        purpose: values.purpose ?? "",
        expires_at: new Date(Date.now() + days * DAY_MS).toISOString(),
      };
      setRequested((await unwrap(api.POST("/shares", { body }))).share_id);
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="request-share">
      <h2 id="request-share">{t("request_share")}</h2>
      <fieldset>
        <legend>{t("clips_to_share")}</legend>
        {clips.map((clipId) => (
          <label key={clipId} class="check">
            <input type="checkbox" name="clip_ids" value={clipId} defaultChecked />
            <code>{clipId}</code>
          </label>
        ))}
      </fieldset>
      <label>
        {t("recipient")}
        <input name="recipient" required minLength={3} maxLength={300} />
      </label>
      <label>
        {t("purpose")}
        <textarea name="purpose" required minLength={5} maxLength={1000} />
      </label>
      <label>
        {t("share_days")}
        <input name="days" type="number" min={1} max={7} defaultValue="2" required />
      </label>
      <button type="submit" disabled={action.busy}>
        {t("request_share")}
      </button>
      {requested ? <Notice>{t("share_requested")}</Notice> : null}
      <Problem error={action.error} />
    </form>
  );
}

function CaseShares({ site, caseId }: { site: string; caseId: string }) {
  const { api, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const shares = useLoad(
    async () => (await unwrap(api.GET("/shares", { params: { query: { site } } }))).shares.filter((s) => s.case_id === caseId),
    [api, site, caseId],
  );
  if (!shares.data || shares.data.length === 0) {
    return <Problem error={shares.error} />;
  }
  return (
    <section>
      <h2>{t("shares_of_case")}</h2>
      <ul>
        {shares.data.map((share) => (
          <li key={share.share_id}>
            {share.recipient} · {t(SHARE_STATE_LABEL[share.status])} · {t("expires", { time: time(share.expires_at, zoneOf(site), false) })}
          </li>
        ))}
      </ul>
    </section>
  );
}
