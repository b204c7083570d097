// The audit trail, filtered by site, time, actor, action and outcome; refusals stand out; and the chain verified.
import { useState } from "preact/hooks";
import { type QueryOf, type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { Loading, Problem, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { siteTimeToUtc, utcToSiteTime } from "../timeline/zone";

type AuditEvent = Schemas["AuditEvent"];
type Filter = Omit<QueryOf<"read_audit">, "limit" | "cursor">;
const DAY_MS = 86_400_000;
const NO_SITE = "-";

export function AuditScreen({ site }: { site: string }) {
  const { api, identity, sites, zoneOf } = useArchive();
  const { t } = useI18n();
  const zone = zoneOf(site);
  const [filter, setFilter] = useState<Filter | null>(null);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useAction();
  const fetchPage = (wanted: Filter, after: string | null) =>
    load.run(async () => {
      const query = { ...wanted, limit: 100, ...(after ? { cursor: after } : {}) };
      const page = await unwrap(api.GET("/audit", { params: { query } }));
      setEvents((previous) => (after ? [...previous, ...page.events] : page.events));
      setCursor(page.cursor);
    });
  const submit = (event: Event) => {
    const values = formValues(event);
    const chosenZone = values.site === NO_SITE ? "UTC" : zoneOf(values.site ?? site);
    const wanted: Filter = {
      site: values.site ?? site,
      from: new Date(siteTimeToUtc(values.from ?? "", chosenZone)).toISOString(),
      to: new Date(siteTimeToUtc(values.to ?? "", chosenZone)).toISOString(),
      ...(values.actor ? { actor: values.actor } : {}),
      ...(values.action ? { action: values.action } : {}),
      ...(values.outcome ? { outcome: values.outcome as "allowed" | "refused" } : {}),
    };
    setFilter(wanted);
    fetchPage(wanted, null);
  };
  const now = Date.now();
  return (
    <main>
      <h1>{t("nav_audit")}</h1>
      <form class="filters" onSubmit={submit} aria-label={t("filter_events")}>
        <label>
          {t("site")}
          <select name="site" defaultValue={site}>
            {sites.map((known) => (
              <option key={known.site_id} value={known.site_id}>
                {known.name}
              </option>
            ))}
            {identity.role === "auditor" ? <option value={NO_SITE}>{t("no_site_events")}</option> : null}
          </select>
        </label>
        <label>
          {t("from")}
          <input name="from" type="datetime-local" step={1} defaultValue={utcToSiteTime(now - DAY_MS, zone)} required />
        </label>
        <label>
          {t("to")}
          <input name="to" type="datetime-local" step={1} defaultValue={utcToSiteTime(now + 60_000, zone)} required />
        </label>
        <label>
          {t("actor")}
          <input name="actor" placeholder="user:operator-aizkraukle" />
        </label>
        <label>
          {t("action")}
          <input name="action" placeholder="clip.view" />
        </label>
        <label>
          {t("outcome")}
          <select name="outcome">
            <option value="">{t("any")}</option>
            <option value="allowed">{t("allowed")}</option>
            <option value="refused">{t("refused")}</option>
          </select>
        </label>
        <button type="submit">{t("show_events")}</button>
      </form>
      <Verify site={site} />
      <Loading when={load.busy} />
      <Problem error={load.error} />
      {filter ? <EventTable events={events} zone={filter.site === NO_SITE ? "UTC" : zoneOf(filter.site)} /> : null}
      {filter && cursor ? (
        <button type="button" onClick={() => fetchPage(filter, cursor)} disabled={load.busy}>
          {t("more")}
        </button>
      ) : null}
    </main>
  );
}

function EventTable({ events, zone }: { events: AuditEvent[]; zone: string }) {
  const { t, time } = useI18n();
  if (events.length === 0) {
    return <p>{t("no_events")}</p>;
  }
  return (
    <table class="audit">
      <thead>
        <tr>
          <th scope="col">{t("when")}</th>
          <th scope="col">{t("actor")}</th>
          <th scope="col">{t("action")}</th>
          <th scope="col">{t("target")}</th>
          <th scope="col">{t("outcome")}</th>
          <th scope="col">{t("purpose_or_reason")}</th>
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr key={event.event_id} class={event.outcome} data-action={event.action}>
            <td>{time(event.at, zone)}</td>
            <td>
              {event.actor} <span class="role">{event.role}</span>
            </td>
            <td>{event.action}</td>
            <td>{event.target}</td>
            <td>{event.outcome === "refused" ? <strong>{t("refused")}</strong> : t("allowed")}</td>
            <td>{[event.purpose, event.case_id, event.reason].filter(Boolean).join(" · ")}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Verify({ site }: { site: string }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [result, setResult] = useState<Schemas["Verification"] | null>(null);
  const verify = () =>
    action.run(async () => setResult(await unwrap(api.GET("/audit/verify", { params: { query: { site } } }))));
  return (
    <section class="panel" aria-labelledby="verify">
      <h2 id="verify">{t("verify_chain")}</h2>
      <button type="button" onClick={verify} disabled={action.busy}>
        {t("verify")}
      </button>
      <Problem error={action.error} />
      {result ? (
        <p role="status" class={result.intact ? "intact" : "problem"} data-testid="verification">
          {result.intact
            ? t("chain_intact", { events: result.events, digests: result.digests_checked })
            : t("chain_broken", { seq: result.first_broken_seq ?? "?", problem: result.problem ?? "" })}
        </p>
      ) : null}
    </section>
  );
}
