// A camera's day as a bar of clips and gaps (gaps by reason); pick a moment, state why, and it plays on
// from clip to clip.
import { useMemo, useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Problem } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { type ReportedGap, type Span, type TimelineClip, playFrom, segments } from "../timeline/timeline";
import { siteDay, siteHour, siteTimeToUtc, utcToSiteTime } from "../timeline/zone";
import { ClipActions, WindowHold } from "./ClipActions";
import { type Grant, Player, type Purpose, PurposeDialog } from "./Player";
import { hrefOf } from "./routes";
import { TimelineBar } from "./TimelineBar";

/** A listed clip on the timeline: its record, and its span in UTC milliseconds. */
export interface ListedClip extends TimelineClip {
  record: Schemas["SearchedClip"];
}
const MAX_PAGES = 30;

async function allClips(
  api: ReturnType<typeof useArchive>["api"],
  camera: string,
  from: number,
  to: number,
): Promise<ListedClip[]> {
  const found: ListedClip[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: 100, cursor };
    const answer = await unwrap(
      api.GET("/cameras/{camera_id}/clips", { params: { path: { camera_id: camera }, query } }),
    );
    found.push(
      ...answer.clips.map((record) => ({
        id: record.clip_id,
        start: Date.parse(record.start),
        end: Date.parse(record.end),
        record,
      })),
    );
    if (!answer.cursor) {
      break;
    }
    cursor = answer.cursor;
  }
  return found.sort((a, b) => a.start - b.start);
}

const spanOf = ({ from, to }: { from: number; to: number }) => ({ start: from, end: to });

function useFootage(
  site: string,
  camera: string,
  span: { from: number; to: number },
  shown: { start: number; end: number },
) {
  const { api } = useArchive();
  const cameras = useLoad(() => unwrap(api.GET("/sites/{site}/cameras", { params: { path: { site } } })), [api, site]);
  const clips = useLoad(() => allClips(api, camera, span.from, span.to), [api, camera, span.from]);
  const gaps = useLoad(async () => {
    const query = { from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString() };
    const answer = await unwrap(api.GET("/cameras/{camera_id}/gaps", { params: { path: { camera_id: camera }, query } }));
    return answer.gaps.map(
      (gap): ReportedGap => ({ start: Date.parse(gap.start), end: Date.parse(gap.end), reason: gap.reason, detail: gap.detail ?? undefined }),
    );
  }, [api, camera, span.from]);
  return {
    camera: cameras.data?.cameras.find((found) => found.camera_id === camera),
    clips,
    drawn: segments(shown, clips.data ?? [], gaps.data ?? []),
    error: cameras.error ?? clips.error ?? gaps.error,
  };
}

interface ToolbarProps {
  loading: boolean;
  site: string;
  camera: string;
  day: string;
  zone: string;
  hour: number | null;
  onHour: (hour: number | null) => void;
  onMoment: (moment: number) => void;
}

const HOURS = Array.from({ length: 24 }, (_, hour) => hour);
const hh = (hour: number) => `${String(hour).padStart(2, "0")}:00`;

function DayToolbar(props: ToolbarProps) {
  const { t } = useI18n();
  const typedMoment = (event: Event) => {
    event.preventDefault();
    const value = new FormData(event.currentTarget as HTMLFormElement).get("at");
    if (typeof value === "string" && value !== "") {
      props.onMoment(siteTimeToUtc(`${props.day}T${value}`, props.zone));
    }
  };
  return (
    <div class="toolbar">
      <label>
        {t("day")}
        <input
          type="date"
          value={props.day}
          onChange={(event) => {
            location.hash = hrefOf({ screen: "camera", site: props.site, camera: props.camera, day: event.currentTarget.value });
          }}
        />
      </label>
      <label>
        {t("show_hours")}
        <select
          value={props.hour === null ? "" : String(props.hour)}
          onChange={(event) => props.onHour(event.currentTarget.value === "" ? null : Number(event.currentTarget.value))}
        >
          <option value="">{t("whole_day")}</option>
          {HOURS.map((hour) => (
            <option key={hour} value={String(hour)}>
              {`${hh(hour)} – ${hh((hour + 1) % 24)}`}
            </option>
          ))}
        </select>
      </label>
      <form onSubmit={typedMoment}>
        <label>
          {t("play_from")}
          <input name="at" type="time" step={1} required />
        </label>
        <button type="submit" disabled={props.loading}>
          {t("play")}
        </button>
      </form>
    </div>
  );
}

interface Playing {
  clip: ListedClip;
  offsetS: number;
  purpose: Purpose;
}

export function CameraScreen(props: { site: string; camera: string; day: string | null }) {
  const { zoneOf, identity } = useArchive();
  const { t, time } = useI18n();
  const zone = zoneOf(props.site);
  const span = useMemo(
    () => siteDay(props.day ? siteTimeToUtc(props.day, zone) + 12 * 3_600_000 : Date.now(), zone),
    [props.day, zone],
  );
  const today = siteDay(Date.now(), zone).day === span.day;
  const [hour, setHour] = useState<number | null>(() => (today ? Number(utcToSiteTime(Date.now(), zone).slice(11, 13)) : null));
  const shown = hour === null ? { start: span.from, end: span.to } : spanOf(siteHour(span.day, hour, zone));
  const footage = useFootage(props.site, props.camera, span, shown);
  const listed = footage.clips.data ?? [];
  const [asked, setAsked] = useState<number | null>(null);
  const [purpose, setPurpose] = useState<Purpose | null>(null);
  const [playing, setPlaying] = useState<Playing | null>(null);
  const [current, setCurrent] = useState<{ clip: ListedClip; grant: Grant } | null>(null);
  const holdsWindows = identity.role === "investigator";
  const [selected, setSelected] = useState<Span | null>(null);
  const start = (moment: number, given: Purpose) => {
    setPurpose(given);
    setAsked(null);
    const from = playFrom(listed, moment);
    setPlaying(from ? { ...from, purpose: given } : null);
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  return (
    <main>
      <h1>{footage.camera?.name ?? props.camera}</h1>
      <p>{footage.camera?.location}</p>
      <Problem error={footage.error} />
      <DayToolbar
        loading={footage.clips.loading}
        site={props.site}
        camera={props.camera}
        day={span.day}
        zone={zone}
        hour={hour}
        onHour={setHour}
        onMoment={setAsked}
      />
      <Loading when={footage.clips.loading} />
      <TimelineBar
        window={shown}
        segments={footage.drawn}
        zone={zone}
        onPick={setAsked}
        selection={{ enabled: holdsWindows, selected, onSelect: setSelected }}
      />
      <p class="summary">
        {t("clips_in_day", { count: listed.length, day: span.day })} · {time(iso(shown.start), zone, false)} –{" "}
        {time(iso(shown.end), zone, false)}
      </p>
      <PurposeDialog
        site={props.site}
        moment={asked}
        zone={zone}
        previous={purpose}
        onCancel={() => setAsked(null)}
        onGiven={(given) => asked !== null && start(asked, given)}
      />
      {playing ? (
        <Player
          key={`${playing.clip.id}-${playing.offsetS}`}
          clips={listed}
          first={playing.clip}
          offsetS={playing.offsetS}
          purpose={playing.purpose}
          zone={zone}
          onClip={(clip, grant) => setCurrent({ clip, grant })}
        />
      ) : null}
      {!playing && purpose !== null && asked === null ? <p role="status">{t("nothing_after_moment")}</p> : null}
      {current ? <ClipActions clip={current.clip} sha256={current.grant.sha256} onChanged={footage.clips.reload} /> : null}
      {holdsWindows ? (
        <WindowHold site={props.site} camera={props.camera} zone={zone} day={span.day} selected={selected} />
      ) : null}
      <p class="hint">{t("times_in_zone", { zone })}</p>
    </main>
  );
}
