// The public notice of a site, without login, in the language the reader picks.
import { unwrap } from "../api/client";
import { useLoad } from "../components/load";
import { Loading, Problem } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { usePublicApi } from "./publicApi";
import { hrefOf } from "./routes";

// The order the templates' sections are read in (chalicelib/notices/*.json).
const SECTIONS: readonly string[] = [
  "about",
  "controller",
  "dpo",
  "what_we_record",
  "purposes",
  "legal_basis",
  "recipients",
  "retention",
  "rights",
  "automated_decisions",
  "security",
];

export function NoticeScreen({ site }: { site: string }) {
  const api = usePublicApi();
  const { language, t } = useI18n();
  const sites = useLoad(async () => (await unwrap(api.GET("/public/sites"))).sites, [api]);
  const notice = useLoad(() => unwrap(api.GET("/public/sites/{site}/notice", { params: { path: { site } } })), [api, site]);
  const texts = notice.data ? (notice.data.languages[language] ?? notice.data.languages.en) : undefined;
  const shownIn = notice.data && !notice.data.languages[language] ? "en" : language;
  return (
    <main lang={shownIn}>
      <nav aria-label={t("other_sites")}>
        {(sites.data ?? []).map((known) => (
          <a key={known.site_id} href={hrefOf({ screen: "notice", site: known.site_id })} aria-current={known.site_id === site ? "page" : undefined}>
            {known.name}
          </a>
        ))}
      </nav>
      <Loading when={notice.loading} />
      <Problem error={notice.error ?? sites.error} />
      {texts ? (
        <article>
          <h1>{texts.title ?? t("public_notice")}</h1>
          {shownIn !== language ? <p class="hint">{t("notice_not_in_language")}</p> : null}
          {Object.entries(texts)
            .filter(([section]) => section !== "title")
            .sort(([a], [b]) => SECTIONS.indexOf(a) - SECTIONS.indexOf(b))
            .map(([section, text]) => (
              <p key={section} class={`notice-${section}`}>
                {text}
              </p>
            ))}
        </article>
      ) : null}
    </main>
  );
}
