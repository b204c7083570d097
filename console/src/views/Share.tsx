// A share's recipient (a prosecutor, a police unit, the press): the link's token, read from the URL's fragment
// (which no server ever sees) and posted to the archive, opens the shared clips with their sha256 for chain of
// custody; a redacted share, its masked excerpts only (a zip with its manifest and redaction report).
import { useEffect } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useLoad } from "../components/load";
import { Loading, Problem } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { usePublicApi } from "./publicApi";

export function ShareScreen({ token }: { token: string }) {
  const api = usePublicApi();
  const { t } = useI18n();
  const manifest = useLoad(() => unwrap(api.POST("/share-manifest", { body: { token } })), [api, token]);
  const shared = manifest.data;
  const zone = "UTC"; // the recipient may be anywhere: shown in UTC, marked as such
  const { time } = useI18n();
  return (
    <main>
      <h1>{t("shared_footage")}</h1>
      <Loading when={manifest.loading} />
      <Problem error={manifest.error} />
      {shared ? (
        <>
          <dl>
            <dt>{t("case")}</dt>
            <dd>{shared.case_reference}</dd>
            <dt>{t("recipient")}</dt>
            <dd>{shared.recipient}</dd>
            <dt>{t("purpose")}</dt>
            <dd>{shared.purpose}</dd>
            <dt>{t("link_expires")}</dt>
            <dd>{time(shared.expires_at, zone)} UTC</dd>
          </dl>
          <p class="hint">{t("every_use_logged")}</p>
          {shared.redacted ? <RedactedExcerpts excerpts={shared.excerpts ?? []} onReload={manifest.reload} /> : null}
          <ul class="shared">
            {shared.clips.map((clip) => (
              <li key={clip.clip_id} data-clip={clip.clip_id}>
                <p>
                  {clip.camera_id} · {time(clip.start, zone)} – {time(clip.end, zone)} UTC
                </p>
                <video src={clip.url} controls preload="metadata" muted playsInline />
                <p>
                  {t("sha256")} <code>{clip.sha256}</code>
                </p>
                <a href={clip.url}>{t("download")}</a>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </main>
  );
}

const RECHECK_MS = 3000; // a masked export takes seconds to make; each look is an audited use, so not too often

function RedactedExcerpts({ excerpts, onReload }: { excerpts: Schemas["SharedExcerpt"][]; onReload: () => void }) {
  const { t, time } = useI18n();
  const making = excerpts.some((excerpt) => excerpt.status === "pending");
  useEffect(() => {
    if (!making) {
      return undefined;
    }
    const timer = setTimeout(onReload, RECHECK_MS);
    return () => clearTimeout(timer);
  }, [making, onReload, excerpts]);
  return (
    <section aria-labelledby="redacted">
      <h2 id="redacted">{t("redacted_excerpts")}</h2>
      <ul class="shared">
        {excerpts.map((excerpt) => (
          <li key={excerpt.clip_id} data-excerpt={excerpt.clip_id}>
            <p>
              {excerpt.camera_id} · {time(excerpt.start, "UTC")} UTC ·{" "}
              {t(excerpt.audience === "public" ? "redacted_for_public" : "redacted_for_police")}
            </p>
            {excerpt.url ? (
              <>
                <p>
                  {t("sha256")} <code>{excerpt.sha256}</code>
                </p>
                <a href={excerpt.url} download>
                  {t("download_export")}
                </a>
              </>
            ) : (
              <p role="status">{t(excerpt.status === "pending" ? "excerpt_being_made" : "excerpt_unavailable")}</p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
