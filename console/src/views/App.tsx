// The console's frame: language, login, the idle clock, the navigation a role has, and the screen asked for.
import { useEffect, useMemo, useState } from "preact/hooks";
import { type ApiClient, unwrap } from "../api/client";
import type { Cognito } from "../auth/cognito";
import { type EndReason, type Identity, type Session } from "../auth/session";
import { type Archive, ArchiveContext, type Site } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Problem } from "../components/ui";
import {
  I18nContext,
  type Language,
  LANGUAGES,
  type MessageKey,
  i18nFor,
  pickLanguage,
  saveLanguage,
  savedLanguage,
  useI18n,
} from "../i18n/i18n";
import { ROLE_LABEL } from "../i18n/labels";
import { Login } from "./Login";
import { type Route, SCREENS_OF, allowed, homeOf, hrefOf, isPublic, parseRoute } from "./routes";
import { Screen } from "./Screen";

const IDLE_CHECK_MS = 5000;
const ACTIVITY = ["pointerdown", "keydown", "wheel", "touchstart"] as const;

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return useMemo(() => parseRoute(hash), [hash]);
}

function useIdentity(session: Session): { identity: Identity | null; ended: EndReason | null } {
  const [state, setState] = useState({ identity: session.identity(), ended: null as EndReason | null });
  useEffect(
    () => session.onChange((ended) => setState({ identity: ended === null ? session.identity() : null, ended })),
    [session],
  );
  useEffect(() => {
    const touch = () => session.touch();
    ACTIVITY.forEach((name) => addEventListener(name, touch, { passive: true }));
    const timer = setInterval(() => {
      if (session.identity() !== null && session.idleTooLong()) {
        session.end("idle");
      }
    }, IDLE_CHECK_MS);
    return () => {
      ACTIVITY.forEach((name) => removeEventListener(name, touch));
      clearInterval(timer);
    };
  }, [session]);
  return state;
}

export function App(props: { session: Session; cognito: Cognito; api: ApiClient }) {
  const [language, setLanguage] = useState<Language>(() => pickLanguage(navigator.languages, savedLanguage()));
  const i18n = useMemo(
    () =>
      i18nFor(language, (chosen) => {
        saveLanguage(chosen);
        setLanguage(chosen);
      }),
    [language],
  );
  useEffect(() => {
    document.documentElement.lang = language;
    document.title = i18n.t("app_name");
  }, [language, i18n]);
  const route = useRoute();
  const { identity, ended } = useIdentity(props.session);

  let body;
  if (identity !== null && !isPublic(route)) {
    // Keyed by the user: a new login starts from nothing the previous one loaded.
    body = <LoggedIn key={identity.username} api={props.api} session={props.session} identity={identity} route={route} />;
  } else {
    body = (
      <>
        <header class="public-top">
          <LanguageSwitch />
        </header>
        {isPublic(route) ? (
          <Screen route={route} />
        ) : (
          <Login cognito={props.cognito} ended={ended} onTokens={(tokens) => props.session.begin(tokens)} />
        )}
      </>
    );
  }
  return <I18nContext.Provider value={i18n}>{body}</I18nContext.Provider>;
}

function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  return (
    <div class="language">
      <label>
        {t("language")}
        <select value={language} onChange={(event) => setLanguage(event.currentTarget.value as Language)}>
          {LANGUAGES.map((code) => (
            <option key={code} value={code}>
              {LANGUAGE_NAMES[code]}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

const LANGUAGE_NAMES: Record<Language, string> = { lv: "Latviešu", lt: "Lietuvių", en: "English" };

const NAV_LABEL: Partial<Record<Route["screen"], MessageKey>> = {
  wall: "nav_wall",
  cases: "nav_cases",
  dpo: "nav_dpo",
  audit: "nav_audit",
  admin: "nav_admin",
};

function LoggedIn(props: { api: ApiClient; session: Session; identity: Identity; route: Route }) {
  const { t } = useI18n();
  const sites = useLoad(async () => (await unwrap(props.api.GET("/sites"))).sites, [props.api]);
  const archive = useMemo<Archive | null>(() => {
    if (sites.data === null) {
      return null;
    }
    const known: Site[] = sites.data;
    return {
      api: props.api,
      identity: props.identity,
      sites: known,
      zoneOf: (site) => known.find((found) => found.site_id === site)?.timezone ?? "Europe/Riga",
      touch: () => props.session.touch(),
    };
  }, [sites.data, props.api, props.identity, props.session]);
  if (archive === null) {
    return (
      <main>
        <Loading when={sites.loading} />
        <Problem error={sites.error} />
      </main>
    );
  }
  const site = "site" in props.route ? props.route.site : (archive.sites[0]?.site_id ?? "");
  const route = props.route.screen === "home" ? homeOf(props.identity.role, site) : props.route;
  const screens = SCREENS_OF[props.identity.role].filter((screen) => NAV_LABEL[screen] !== undefined);
  return (
    <ArchiveContext.Provider value={archive}>
      <header class="top">
        <span class="brand">{t("app_name")}</span>
        <nav aria-label={t("main_navigation")}>
          {screens.map((screen) => {
            const target = { screen, site } as Route;
            const label = NAV_LABEL[screen] ?? "nav_wall";
            return (
              <a key={screen} href={hrefOf(target)} aria-current={route.screen === screen ? "page" : undefined}>
                {t(label)}
              </a>
            );
          })}
        </nav>
        <SitePicker route={route} sites={archive.sites} />
        <div class="session">
          <span class="who">
            {props.identity.username} · {t(ROLE_LABEL[props.identity.role])}
          </span>
          <LanguageSwitch />
          <button type="button" onClick={() => props.session.end("logout")}>
            {t("log_out")}
          </button>
        </div>
      </header>
      {allowed(props.identity.role, route) ? (
        <Screen route={route} />
      ) : (
        <main>
          <p role="alert">{t("not_for_your_role")}</p>
        </main>
      )}
    </ArchiveContext.Provider>
  );
}

function SitePicker({ route, sites }: { route: Route; sites: Site[] }) {
  const { t } = useI18n();
  if (!("site" in route) || sites.length < 2 || route.screen === "camera") {
    return null;
  }
  return (
    <label>
      {t("site")}
      <select
        value={route.site}
        onChange={(event) => {
          location.hash = hrefOf({ ...route, site: event.currentTarget.value });
        }}
      >
        {sites.map((site) => (
          <option key={site.site_id} value={site.site_id}>
            {site.name}
          </option>
        ))}
      </select>
    </label>
  );
}
