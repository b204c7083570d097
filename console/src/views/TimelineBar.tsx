// The day as one bar: clips as buttons (hover or focus shows their stills), gaps coloured by their reason;
// where a window can be held, dragging across the bar selects it (typed times are the keyboard's way).
import { useRef, useState } from "preact/hooks";
import { type MessageKey, useI18n } from "../i18n/i18n";
import { Still } from "../components/Still";
import { type GapReason, type Segment, type Span, momentAt, percentOf } from "../timeline/timeline";
import type { ListedClip } from "./Camera";

const GAP_LABEL: Record<GapReason, MessageKey> = {
  quota: "gap_quota",
  too_old: "gap_too_old",
  corrupt: "gap_corrupt",
  refused: "gap_refused",
  silent: "gap_silent",
};

interface Props {
  window: Span;
  segments: Segment<ListedClip>[];
  zone: string;
  onPick: (moment: number) => void;
  /** Enabled: a drag across the bar selects a window (shown as `selected`). */
  selection?: Selection;
}

interface Selection {
  enabled: boolean;
  selected: Span | null;
  onSelect: (selected: Span) => void;
}

/** A drag shorter than this (in pixels) is a click. */
const DRAG_AT_LEAST_PX = 4;

function fractionAt(event: MouseEvent, element: HTMLElement): number {
  const box = element.getBoundingClientRect();
  return box.width > 0 ? (event.clientX - box.left) / box.width : 0;
}

/** Dragging across the bar: the window under way, and whether the last press was a drag (not a click). */
function useDragSelection(window: Span, selection: Selection | undefined) {
  const from = useRef<{ x: number; moment: number } | null>(null);
  const dragged = useRef(false);
  const [dragging, setDragging] = useState<Span | null>(null);
  const spanTo = (event: PointerEvent): Span | null => {
    if (from.current === null || Math.abs(event.clientX - from.current.x) < DRAG_AT_LEAST_PX) {
      return null;
    }
    const moment = momentAt(window, fractionAt(event, event.currentTarget as HTMLElement));
    return { start: Math.min(from.current.moment, moment), end: Math.max(from.current.moment, moment) };
  };
  const handlers = selection?.enabled
    ? {
        onPointerDown: (event: PointerEvent) => {
          dragged.current = false;
          from.current = { x: event.clientX, moment: momentAt(window, fractionAt(event, event.currentTarget as HTMLElement)) };
        },
        onPointerMove: (event: PointerEvent) => {
          const span = spanTo(event);
          if (span !== null) {
            (event.currentTarget as HTMLElement).setPointerCapture(event.pointerId);
            setDragging(span);
          }
        },
        onPointerUp: (event: PointerEvent) => {
          const span = spanTo(event);
          from.current = null;
          setDragging(null);
          if (span !== null) {
            dragged.current = true;
            selection.onSelect(span);
          }
        },
      }
    : {};
  /** True once after a drag: the click that ends it picks no moment. */
  const wasDrag = () => {
    const was = dragged.current;
    dragged.current = false;
    return was;
  };
  return { handlers, dragging, wasDrag };
}

export function TimelineBar({ window, segments, zone, onPick, selection }: Props) {
  const { t, time } = useI18n();
  const [hovered, setHovered] = useState<ListedClip | null>(null);
  const drag = useDragSelection(window, selection);
  const stills = hovered?.record.stills ?? null; // one image, each still cropped from it (fetched once)
  const iso = (ms: number) => new Date(ms).toISOString();
  const pickAt = (event: MouseEvent, start: number, end: number) => {
    if (!drag.wasDrag()) {
      onPick(momentAt({ start, end }, fractionAt(event, event.currentTarget as HTMLElement)));
    }
  };
  const selectable = selection?.enabled === true;
  const shownSelection = drag.dragging ?? (selectable ? selection.selected : null);
  return (
    <section class="timeline" aria-label={t("timeline")}>
      <div class={selectable ? "bar selectable" : "bar"} data-testid="timeline-bar" {...drag.handlers}>
        {segments.map((segment) => {
          const left = percentOf(window, segment.start);
          const width = Math.max(0.2, percentOf(window, segment.end) - left);
          const place = { left: `${left}%`, width: `${width}%` };
          const span = `${time(iso(segment.start), zone)} – ${time(iso(segment.end), zone)}`;
          if (segment.kind === "gap") {
            return (
              <span key={`gap-${segment.start}`} class={`gap ${segment.reason}`} style={place} title={`${t(GAP_LABEL[segment.reason])}: ${span}${segment.detail ? ` (${segment.detail})` : ""}`} />
            );
          }
          return (
            <button
              key={segment.clip.id}
              type="button"
              class="clip"
              style={place}
              aria-label={t("clip_at", { span })}
              data-clip={segment.clip.id}
              onMouseEnter={() => setHovered(segment.clip)}
              onFocus={() => setHovered(segment.clip)}
              onClick={(event) => pickAt(event, segment.clip.start, segment.clip.end)}
            />
          );
        })}
        {shownSelection ? (
          <span
            class="selection"
            data-testid="selection"
            style={{ left: `${percentOf(window, shownSelection.start)}%`, width: `${percentOf(window, shownSelection.end) - percentOf(window, shownSelection.start)}%` }}
          />
        ) : null}
      </div>
      {selectable ? <p class="hint">{t("drag_to_select")}</p> : null}
      <ul class="legend">
        <li class="legend-clip">{t("legend_footage")}</li>
        {(Object.keys(GAP_LABEL) as GapReason[]).map((reason) => (
          <li key={reason} class={`legend-${reason}`}>
            {t(GAP_LABEL[reason])}
          </li>
        ))}
      </ul>
      {hovered ? (
        <figure class="strip" data-testid="strip">
          {stills
            ? Array.from({ length: stills.count }, (_, index) => (
                <Still key={index} stills={stills} index={index} alt={t("still_of", { number: index + 1 })} loading="lazy" />
              ))
            : null}
          <figcaption>{`${time(hovered.record.start, zone)} – ${time(hovered.record.end, zone)}`}</figcaption>
        </figure>
      ) : null}
    </section>
  );
}
