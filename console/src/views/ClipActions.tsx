// What may be done with the clip on screen, by role: an investigator holds it for a case, the dpo erases it.
import { useEffect, useState } from "preact/hooks";
import { ApiError, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Notice, Problem, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import type { Span } from "../timeline/timeline";
import { siteTimeToUtc, utcToSiteTime } from "../timeline/zone";
import type { ListedClip } from "./Camera";

function useOpenCases(site: string) {
  const { api } = useArchive();
  return useLoad(
    async () => (await unwrap(api.GET("/cases", { params: { query: { site, state: "open" } } }))).cases,
    [api, site],
  );
}

function CaseChoice({ site }: { site: string }) {
  const { t } = useI18n();
  const cases = useOpenCases(site);
  return (
    <label>
      {t("case")}
      <select name="case_id" required>
        <option value="">{t("choose_case")}</option>
        {(cases.data ?? []).map((found) => (
          <option key={found.case_id} value={found.case_id}>
            {found.reference}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ClipActions({ clip, sha256, onChanged }: { clip: ListedClip; sha256: string; onChanged: () => void }) {
  const { identity } = useArchive();
  if (identity.role === "investigator") {
    return <HoldClip clip={clip} />;
  }
  if (identity.role === "dpo") {
    return <EraseClip clip={clip} sha256={sha256} onErased={onChanged} />;
  }
  return null;
}

function HoldClip({ clip }: { clip: ListedClip }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [held, setHeld] = useState<string | null>(null);
  const submit = (event: Event) => {
    const { case_id: caseId = "" } = formValues(event);
    action.run(async () => {
      await unwrap(api.POST("/cases/{case_id}/holds", { params: { path: { case_id: caseId } }, body: { clip_ids: [clip.id] } }));
      setHeld(caseId);
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-label={t("hold_clip")}>
      <h2>{t("hold_clip")}</h2>
      <CaseChoice site={clip.record.site} />
      <button type="submit" disabled={action.busy}>
        {t("hold")}
      </button>
      {held ? <Notice>{t("held_for_case")}</Notice> : null}
      <Problem error={action.error} />
    </form>
  );
}

const DAY_MS = 86_400_000;

/** Hold a camera's window for a case: from and to typed, or filled in by a selection dragged on the timeline. */
export function WindowHold(props: { site: string; camera: string; zone: string; day: string; selected: Span | null }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [held, setHeld] = useState<number | null>(null);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const { selected, zone } = props;
  useEffect(() => {
    if (selected) {
      setFrom(utcToSiteTime(selected.start, zone).slice(11));
      setTo(utcToSiteTime(selected.end, zone).slice(11));
    }
  }, [selected, zone]);
  const submit = (event: Event) => {
    const values = formValues(event);
    const start = siteTimeToUtc(`${props.day}T${from}`, zone);
    const typedEnd = siteTimeToUtc(`${props.day}T${to}`, zone);
    const end = typedEnd >= start ? typedEnd : typedEnd + DAY_MS; // "to" before "from": past midnight
    action.run(async () => {
      const body = { camera_id: props.camera, start: new Date(start).toISOString(), end: new Date(end).toISOString() };
      const answer = await unwrap(
        api.POST("/cases/{case_id}/holds", { params: { path: { case_id: values.case_id ?? "" } }, body }),
      );
      setHeld(answer.held.length);
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-label={t("hold_window")}>
      <h2>{t("hold_window")}</h2>
      <label>
        {t("from")}
        <input name="from" type="time" step={1} required value={from} onInput={(event) => setFrom(event.currentTarget.value)} />
      </label>
      <label>
        {t("to")}
        <input name="to" type="time" step={1} required value={to} onInput={(event) => setTo(event.currentTarget.value)} />
      </label>
      <CaseChoice site={props.site} />
      <button type="submit" disabled={action.busy}>
        {t("hold")}
      </button>
      {held !== null ? <Notice>{t("clips_held", { count: held })}</Notice> : null}
      <Problem error={action.error} />
    </form>
  );
}

function EraseClip({ clip, sha256, onErased }: { clip: ListedClip; sha256: string; onErased: () => void }) {
  const { api } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const [erased, setErased] = useState(false);
  const submit = (event: Event) => {
    const { reason = "" } = formValues(event);
    action.run(async () => {
      await unwrap(api.POST("/clips/{clip_id}/erasure", { params: { path: { clip_id: clip.id } }, body: { reason } }));
      setErased(true);
      onErased();
    });
  };
  const held = action.error instanceof ApiError && action.error.status === 409;
  return (
    <form class="panel" onSubmit={submit} aria-label={t("erase_clip")}>
      <h2>{t("erase_clip")}</h2>
      <p class="hint">{t("erase_clip_what", { sha: sha256.slice(0, 12) })}</p>
      <label>
        {t("reason")}
        <input name="reason" required minLength={5} maxLength={1000} />
      </label>
      <button type="submit" class="danger" disabled={action.busy || erased}>
        {t("erase")}
      </button>
      {erased ? <Notice>{t("erased")}</Notice> : null}
      {held ? <p class="problem" role="alert">{t("erase_refused_held", { why: action.error?.message ?? "" })}</p> : <Problem error={action.error} />}
    </form>
  );
}
