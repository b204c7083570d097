import { describe, expect, it } from "vitest";
import { allowed, hrefOf, parseRoute, type Route } from "./routes";

describe("routes", () => {
  it("round-trips every screen through the fragment", () => {
    const routes: Route[] = [
      { screen: "wall", site: "aizkraukle" },
      { screen: "camera", site: "birzai", camera: "birzai-lake", day: "2026-12-01" },
      { screen: "case", caseId: "01J" },
      { screen: "request", requestId: "01K" },
      { screen: "redact-share", shareId: "01S" },
      { screen: "share", token: "a-b_c" },
      { screen: "notice", site: "birzai" },
    ];
    for (const route of routes) {
      expect(parseRoute(hrefOf(route))).toEqual(route);
    }
  });

  it("falls back to home for what it does not know", () => {
    expect(parseRoute("#/nowhere")).toEqual({ screen: "home" });
    expect(parseRoute("")).toEqual({ screen: "home" });
  });

  it("offers an admin no footage screen and an operator no audit", () => {
    expect(allowed("admin", { screen: "wall", site: "a" })).toBe(false);
    expect(allowed("admin", { screen: "camera", site: "a", camera: "c", day: null })).toBe(false);
    expect(allowed("operator", { screen: "audit", site: "a" })).toBe(false);
    expect(allowed("dpo", { screen: "audit", site: "a" })).toBe(true);
    expect(allowed("investigator", { screen: "redact-share", shareId: "01S" })).toBe(false);
  });
});
