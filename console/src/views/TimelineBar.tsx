// The day as one bar: clips as buttons (hover or focus shows their stills), gaps coloured by their reason.
import { useState } from "preact/hooks";
import { type MessageKey, useI18n } from "../i18n/i18n";
import { Still } from "../components/Still";
import { type GapReason, type Segment, momentAt, percentOf } from "../timeline/timeline";
import type { ListedClip } from "./Camera";

const GAP_LABEL: Record<GapReason, MessageKey> = {
  quota: "gap_quota",
  too_old: "gap_too_old",
  corrupt: "gap_corrupt",
  refused: "gap_refused",
  silent: "gap_silent",
};

interface Props {
  window: { start: number; end: number };
  segments: Segment<ListedClip>[];
  zone: string;
  onPick: (moment: number) => void;
}

export function TimelineBar({ window, segments, zone, onPick }: Props) {
  const { t, time } = useI18n();
  const [hovered, setHovered] = useState<ListedClip | null>(null);
  const stills = hovered?.record.stills ?? null; // one image, each still cropped from it (fetched once)
  const iso = (ms: number) => new Date(ms).toISOString();
  const pickAt = (event: MouseEvent, start: number, end: number) => {
    const target = event.currentTarget as HTMLElement;
    const box = target.getBoundingClientRect();
    onPick(momentAt({ start, end }, box.width > 0 ? (event.clientX - box.left) / box.width : 0));
  };
  return (
    <section class="timeline" aria-label={t("timeline")}>
      <div class="bar" data-testid="timeline-bar">
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
      </div>
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
