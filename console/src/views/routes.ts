// Screens are addressed in the URL's fragment (`#/wall/aizkraukle`), so the API serves one page.
import type { Role } from "../auth/session";

export type Route =
  | { screen: "home" }
  | { screen: "wall"; site: string }
  | { screen: "camera"; site: string; camera: string; day: string | null }
  | { screen: "cases"; site: string }
  | { screen: "case"; caseId: string }
  | { screen: "dpo"; site: string }
  | { screen: "request"; requestId: string }
  | { screen: "redact-share"; shareId: string }
  | { screen: "audit"; site: string }
  | { screen: "admin"; site: string }
  | { screen: "notice"; site: string }
  | { screen: "share"; token: string };

export type Screen = Route["screen"];

const PUBLIC: readonly Screen[] = ["notice", "share"];

/** Which role sees which screen: the API enforces the same, the console only does not offer the rest. */
export const SCREENS_OF: Record<Role, readonly Screen[]> = {
  operator: ["wall", "camera"],
  investigator: ["wall", "camera", "cases", "case"],
  dpo: ["wall", "camera", "cases", "case", "dpo", "request", "redact-share", "audit"],
  auditor: ["audit"],
  admin: ["admin"],
};

export function isPublic(route: Route): boolean {
  return PUBLIC.includes(route.screen);
}

export function allowed(role: Role, route: Route): boolean {
  return route.screen === "home" || SCREENS_OF[role].includes(route.screen);
}

type Parser = (first: string, second: string, params: URLSearchParams) => Route | null;

const bySite =
  (screen: "wall" | "cases" | "dpo" | "audit" | "admin" | "notice"): Parser =>
  (first) =>
    first ? { screen, site: first } : null;

const PARSERS: Record<string, Parser> = {
  wall: bySite("wall"),
  cases: bySite("cases"),
  dpo: bySite("dpo"),
  audit: bySite("audit"),
  admin: bySite("admin"),
  notice: bySite("notice"),
  camera: (site, camera, params) => (site && camera ? { screen: "camera", site, camera, day: params.get("day") } : null),
  case: (caseId) => (caseId ? { screen: "case", caseId } : null),
  request: (requestId) => (requestId ? { screen: "request", requestId } : null),
  "redact-share": (shareId) => (shareId ? { screen: "redact-share", shareId } : null),
  s: (token) => (token ? { screen: "share", token } : null),
};

export function parseRoute(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [screen = "", first = "", second = ""] = path.split("/").map(decodeURIComponent);
  const parser = PARSERS[screen];
  return (parser ? parser(first, second, new URLSearchParams(query)) : null) ?? { screen: "home" };
}

export function hrefOf(route: Route): string {
  const part = encodeURIComponent;
  switch (route.screen) {
    case "home":
      return "#/";
    case "camera":
      return `#/camera/${part(route.site)}/${part(route.camera)}${route.day ? `?day=${route.day}` : ""}`;
    case "case":
      return `#/case/${part(route.caseId)}`;
    case "request":
      return `#/request/${part(route.requestId)}`;
    case "redact-share":
      return `#/redact-share/${part(route.shareId)}`;
    case "share":
      return `#/s/${part(route.token)}`;
    default:
      return `#/${route.screen}/${part(route.site)}`;
  }
}

/** Where a role starts. */
export function homeOf(role: Role, site: string): Route {
  if (role === "admin") {
    return { screen: "admin", site };
  }
  if (role === "auditor") {
    return { screen: "audit", site };
  }
  return { screen: "wall", site };
}
