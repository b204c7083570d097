// Latvian, Lithuanian and English: messages per language, plural forms by Intl.PluralRules, times in a site's zone.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { en } from "./en";
import { lt } from "./lt";
import { lv } from "./lv";

export type Language = "en" | "lv" | "lt";
export const LANGUAGES: readonly Language[] = ["lv", "lt", "en"];
export type MessageKey = keyof typeof en;
export type Plural = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };
export type Message = string | Plural;
export type Messages = Record<MessageKey, Message>;
export type Values = Record<string, string | number>;

const MESSAGES: Record<Language, Messages> = { en, lv, lt };
const LANGUAGE_KEY = "safe-society.language"; // a preference, not a secret: it outlives the tab

export function translate(language: Language, key: MessageKey, values: Values = {}): string {
  const message = MESSAGES[language][key];
  const text =
    typeof message === "string"
      ? message
      : (message[new Intl.PluralRules(language).select(Number(values.count ?? 0))] ?? message.other);
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => String(values[name] ?? whole));
}

/** The first of the browser's languages the console speaks; English otherwise. */
export function pickLanguage(preferred: readonly string[], saved: string | null): Language {
  const candidates = saved === null ? preferred : [saved, ...preferred];
  for (const candidate of candidates) {
    const base = candidate.toLowerCase().split("-")[0];
    const found = LANGUAGES.find((language) => language === base);
    if (found !== undefined) {
      return found;
    }
  }
  return "en";
}

export function savedLanguage(): string | null {
  return localStorage.getItem(LANGUAGE_KEY);
}

export function saveLanguage(language: Language): void {
  localStorage.setItem(LANGUAGE_KEY, language);
}

/** A moment as people at the site read it: in the site's own zone, never UTC. */
export function formatTime(iso: string, zone: string, language: Language, withSeconds = true): string {
  // Day before month in English too, as in both countries.
  return new Intl.DateTimeFormat(language === "en" ? "en-GB" : language, {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    ...(withSeconds ? { second: "2-digit" } : {}),
    hourCycle: "h23",
  }).format(new Date(iso));
}

export interface I18n {
  language: Language;
  setLanguage: (language: Language) => void;
  t: (key: MessageKey, values?: Values) => string;
  time: (iso: string, zone: string, withSeconds?: boolean) => string;
}

export function i18nFor(language: Language, setLanguage: (language: Language) => void): I18n {
  return {
    language,
    setLanguage,
    t: (key, values) => translate(language, key, values),
    time: (iso, zone, withSeconds) => formatTime(iso, zone, language, withSeconds),
  };
}

export const I18nContext = createContext<I18n>(i18nFor("en", () => undefined));

export function useI18n(): I18n {
  return useContext(I18nContext);
}
