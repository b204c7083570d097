// The camera timeline as a pure function of clips and reported gaps: what to draw, what plays at a moment,
// what plays next. Times are UTC milliseconds.

export type GapReason = "quota" | "too_old" | "corrupt" | "refused" | "silent";

export interface TimelineClip {
  id: string;
  start: number;
  end: number;
}

export interface ReportedGap {
  start: number;
  end: number;
  reason: Exclude<GapReason, "silent">;
  /** The gateway's word on why (a refused clip: the archive's answer). */
  detail?: string;
}

export type Segment<C extends TimelineClip> =
  | { kind: "clip"; start: number; end: number; clip: C }
  | { kind: "gap"; start: number; end: number; reason: GapReason; detail?: string };

/** Shorter holes between clips are the cut between segments, not missing footage. */
export const SILENCE_TOLERANCE_MS = 3000;

export interface Span {
  start: number;
  end: number;
}

function clipToWindow(span: Span, window: Span): Span | null {
  const start = Math.max(span.start, window.start);
  const end = Math.min(span.end, window.end);
  return end > start ? { start, end } : null;
}

/** What is not covered by `covers` inside `span`, in order. */
function uncovered(span: Span, covers: readonly Span[]): Span[] {
  const holes: Span[] = [];
  let cursor = span.start;
  for (const cover of [...covers].sort((a, b) => a.start - b.start)) {
    if (cover.start > cursor) {
      holes.push({ start: cursor, end: Math.min(cover.start, span.end) });
    }
    cursor = Math.max(cursor, cover.end);
    if (cursor >= span.end) {
      break;
    }
  }
  if (cursor < span.end) {
    holes.push({ start: cursor, end: span.end });
  }
  return holes.filter((hole) => hole.end > hole.start);
}

/** Clips, and between them gaps: where the gateway reported why, that reason; elsewhere "silent". */
export function segments<C extends TimelineClip>(
  window: Span,
  clips: readonly C[],
  gaps: readonly ReportedGap[],
): Segment<C>[] {
  const shown: Segment<C>[] = [];
  for (const clip of clips) {
    const span = clipToWindow(clip, window);
    if (span) {
      shown.push({ kind: "clip", ...span, clip });
    }
  }
  const clipSpans = shown.map(({ start, end }) => ({ start, end }));
  for (const hole of uncovered(window, clipSpans)) {
    const reported = gaps.map((gap) => ({ gap, span: clipToWindow(gap, hole) })).filter((found) => found.span);
    for (const { gap, span } of reported) {
      if (span) {
        shown.push({ kind: "gap", ...span, reason: gap.reason, detail: gap.detail });
      }
    }
    const spans = reported.map((found) => found.span).filter((span): span is Span => span !== null);
    for (const silent of uncovered(hole, spans)) {
      if (silent.end - silent.start >= SILENCE_TOLERANCE_MS) {
        shown.push({ kind: "gap", ...silent, reason: "silent" });
      }
    }
  }
  return shown.sort((a, b) => a.start - b.start);
}

/** The clip to play from `moment`, and where in it: the clip holding it, else the next one after it. */
export function playFrom<C extends TimelineClip>(
  clips: readonly C[],
  moment: number,
): { clip: C; offsetS: number } | null {
  const ordered = [...clips].sort((a, b) => a.start - b.start);
  const holding = ordered.find((clip) => clip.start <= moment && moment < clip.end);
  if (holding) {
    return { clip: holding, offsetS: (moment - holding.start) / 1000 };
  }
  const next = ordered.find((clip) => clip.start > moment);
  return next ? { clip: next, offsetS: 0 } : null;
}

/** The clip that follows `current` in time, if any. */
export function nextClip<C extends TimelineClip>(clips: readonly C[], current: C): C | null {
  const later = clips.filter((clip) => clip.start >= current.end - SILENCE_TOLERANCE_MS && clip.id !== current.id);
  return later.sort((a, b) => a.start - b.start)[0] ?? null;
}

/** Where a moment lies along the window, 0 to 100. */
export function percentOf(window: Span, moment: number): number {
  const span = window.end - window.start;
  return span > 0 ? Math.min(100, Math.max(0, ((moment - window.start) / span) * 100)) : 0;
}

/** The moment at a fraction (0 to 1) of the window. */
export function momentAt(window: Span, fraction: number): number {
  return window.start + Math.round((window.end - window.start) * Math.min(1, Math.max(0, fraction)));
}
