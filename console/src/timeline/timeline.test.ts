import { describe, expect, it } from "vitest";
import { nextClip, percentOf, playFrom, segments, SILENCE_TOLERANCE_MS } from "./timeline";
import { siteDay, siteTimeToUtc, utcToSiteTime } from "./zone";

const S = 1000;
const clip = (id: string, start: number, end: number) => ({ id, start: start * S, end: end * S });
const window = { start: 0, end: 600 * S };

describe("segments", () => {
  it("draws clips in order and fills holes with the reason the gateway gave", () => {
    const clips = [clip("b", 300, 360), clip("a", 0, 60)];
    const drawn = segments(window, clips, [{ start: 60 * S, end: 120 * S, reason: "quota" }]);
    expect(drawn.map((s) => (s.kind === "clip" ? s.clip.id : s.reason))).toEqual([
      "a",
      "quota",
      "silent",
      "b",
      "silent",
    ]);
    expect(drawn[2]).toMatchObject({ start: 120 * S, end: 300 * S });
  });

  it("treats the cut between back-to-back segments as no gap", () => {
    const drawn = segments({ start: 0, end: 120 * S }, [clip("a", 0, 60), clip("b", 61, 120)], []);
    expect(drawn.every((s) => s.kind === "clip")).toBe(true);
    expect(SILENCE_TOLERANCE_MS).toBeGreaterThan(S);
  });

  it("cuts clips and gaps to the window", () => {
    const drawn = segments({ start: 30 * S, end: 90 * S }, [clip("a", 0, 60)], [
      { start: 60 * S, end: 500 * S, reason: "corrupt" },
    ]);
    expect(drawn).toEqual([
      { kind: "clip", start: 30 * S, end: 60 * S, clip: clip("a", 0, 60) },
      { kind: "gap", start: 60 * S, end: 90 * S, reason: "corrupt" },
    ]);
  });

  it("keeps why a refused clip is missing", () => {
    const refused = { start: 0, end: 2 * S, reason: "refused" as const, detail: "HTTP 400: retention over" };
    expect(segments({ start: 0, end: 2 * S }, [], [refused])).toEqual([{ kind: "gap", ...refused }]);
  });

  it("shows a camera with no footage at all as silent for the whole window", () => {
    expect(segments(window, [], [])).toEqual([{ kind: "gap", start: 0, end: 600 * S, reason: "silent" }]);
  });
});

describe("playFrom", () => {
  const clips = [clip("a", 0, 60), clip("b", 120, 180)];
  it("plays the clip holding the moment from the right offset", () => {
    expect(playFrom(clips, 45 * S)).toEqual({ clip: clips[0], offsetS: 45 });
  });
  it("plays the next clip from its start when the moment is in a gap", () => {
    expect(playFrom(clips, 90 * S)).toEqual({ clip: clips[1], offsetS: 0 });
  });
  it("has nothing to play after the last clip", () => {
    expect(playFrom(clips, 200 * S)).toBeNull();
  });
});

describe("nextClip", () => {
  it("continues with the clip that follows in time", () => {
    const [c, a, b] = [clip("c", 120, 180), clip("a", 0, 60), clip("b", 60, 120)];
    expect(nextClip([c, a, b], a)?.id).toBe("b");
    expect(nextClip([c, a, b], c)).toBeNull();
  });
});

describe("percentOf", () => {
  it("places moments along the window and clamps outside it", () => {
    expect(percentOf(window, 150 * S)).toBe(25);
    expect(percentOf(window, -5)).toBe(0);
    expect(percentOf(window, 700 * S)).toBe(100);
  });
});

describe("site zones", () => {
  it("reads a Riga wall-clock time in winter (UTC+2) and summer (UTC+3)", () => {
    expect(new Date(siteTimeToUtc("2026-12-01T14:30", "Europe/Riga")).toISOString()).toBe("2026-12-01T12:30:00.000Z");
    expect(new Date(siteTimeToUtc("2026-07-01T14:30", "Europe/Vilnius")).toISOString()).toBe(
      "2026-07-01T11:30:00.000Z",
    );
  });
  it("shows a UTC moment on the site's clocks", () => {
    expect(utcToSiteTime(Date.parse("2026-12-01T22:15:00Z"), "Europe/Riga")).toBe("2026-12-02T00:15:00");
  });
  it("spans the site's day, 23 hours on the day clocks go forward", () => {
    const day = siteDay(Date.parse("2026-03-29T12:00:00Z"), "Europe/Riga");
    expect(day.day).toBe("2026-03-29");
    expect((day.to - day.from) / 3_600_000).toBe(23);
  });
});
