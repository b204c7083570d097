// Playback: each clip's signed URL asked for as it is needed (an audited view, with the purpose given once),
// renewed when it has expired, the next clip fetched before the current one ends.
import { useEffect, useRef, useState } from "preact/hooks";
import { type ApiClient, type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Dialog, Problem, formValues, useAction } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { nextClip } from "../timeline/timeline";
import type { ListedClip } from "./Camera";

export interface Purpose {
  purpose: string;
  case_id?: string;
}

/** A signed URL, and when it expires by this browser's own clock (whatever the server's says). */
export type Grant = Schemas["ViewGrant"] & { expiresLocally: number };

const PREFETCH_BEFORE_END_S = 8;
const RENEW_MARGIN_MS = 5000;
const HEVC = 'video/mp4; codecs="hvc1.1.6.L93.B0"';

export function PurposeDialog(props: {
  site: string;
  moment: number | null;
  zone: string;
  previous: Purpose | null;
  onCancel: () => void;
  onGiven: (purpose: Purpose) => void;
}) {
  const { api, identity } = useArchive();
  const { t, time } = useI18n();
  const investigator = identity.role === "investigator";
  const cases = useLoad(
    async () =>
      investigator
        ? (await unwrap(api.GET("/cases", { params: { query: { site: props.site, state: "open" } } }))).cases
        : [],
    [api, props.site, investigator],
  );
  const submit = (event: Event) => {
    const values = formValues(event);
    props.onGiven({ purpose: values.purpose ?? "", ...(values.case_id ? { case_id: values.case_id } : {}) });
  };
  return (
    <Dialog title={t("purpose_title")} open={props.moment !== null} onClose={props.onCancel}>
      <form onSubmit={submit}>
        {props.moment !== null ? <p>{t("purpose_moment", { time: time(new Date(props.moment).toISOString(), props.zone) })}</p> : null}
        <label>
          {t("purpose")}
          <textarea name="purpose" required minLength={5} maxLength={500} defaultValue={props.previous?.purpose ?? ""} />
        </label>
        {investigator ? (
          <label>
            {t("case")}
            <select name="case_id" required>
              <option value="">{t("choose_case")}</option>
              {(cases.data ?? []).map((found) => (
                <option key={found.case_id} value={found.case_id} selected={found.case_id === props.previous?.case_id}>
                  {found.reference}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        <Problem error={cases.error} />
        <p class="hint">{t("purpose_is_audited")}</p>
        <div class="actions">
          <button type="submit">{t("view")}</button>
          <button type="button" onClick={props.onCancel}>
            {t("cancel")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A view of the clip, asked for (and audited) with its purpose: the signed URL to play it. */
export async function askToView(api: ApiClient, clipId: string, purpose: Purpose): Promise<Grant> {
  const body = { ...purpose, download: false };
  const granted = await unwrap(api.POST("/clips/{clip_id}/view", { params: { path: { clip_id: clipId } }, body }));
  return { ...granted, expiresLocally: Date.now() + granted.expires_in_s * 1000 };
}

/** Whether the URL has expired, or is about to. */
export const expired = (grant: Grant) => grant.expiresLocally - RENEW_MARGIN_MS <= Date.now();

function useGrants(purpose: Purpose) {
  const { api } = useArchive();
  const cache = useRef(new Map<string, Promise<Grant>>());
  const grant = (clip: ListedClip, fresh = false): Promise<Grant> => {
    const known = cache.current.get(clip.id);
    if (known && !fresh) {
      return known;
    }
    const asked = askToView(api, clip.id, purpose);
    cache.current.set(clip.id, asked);
    asked.catch(() => cache.current.delete(clip.id));
    return asked;
  };
  return grant;
}

export function Player(props: {
  clips: ListedClip[];
  first: ListedClip;
  offsetS: number;
  purpose: Purpose;
  zone: string;
  onClip: (clip: ListedClip, grant: Grant) => void;
}) {
  const { touch } = useArchive();
  const { t, time } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const grant = useGrants(props.purpose);
  const [current, setCurrent] = useState<{ clip: ListedClip; grant: Grant; offsetS: number } | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [unplayable, setUnplayable] = useState(false);
  const renewing = useRef(false);

  const show = (clip: ListedClip, offsetS: number, fresh = false) => {
    grant(clip, fresh)
      .then(
        (granted) => {
          setCurrent({ clip, grant: granted, offsetS });
          props.onClip(clip, granted);
        },
        (error: unknown) => setFailure(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        renewing.current = false;
      });
  };
  useEffect(() => show(props.first, props.offsetS), []);

  const codec = current?.clip.record.video?.codec ?? "";
  useEffect(() => {
    setUnplayable(["hevc", "h265"].includes(codec) && video.current?.canPlayType(HEVC) === "");
  }, [codec]);

  const renewIfExpired = () => {
    const element = video.current;
    if (current && element && expired(current.grant) && !renewing.current) {
      renewing.current = true; // play and seeking both fire: one renewal
      show(current.clip, element.currentTime, true);
    }
  };
  const onTime = () => {
    const element = video.current;
    touch(); // watching is activity: no idle logout mid-clip
    if (current && element && element.duration - element.currentTime < PREFETCH_BEFORE_END_S) {
      const next = nextClip(props.clips, current.clip);
      if (next) {
        void grant(next).catch(() => undefined);
      }
    }
  };
  const onEnded = () => {
    const next = current ? nextClip(props.clips, current.clip) : null;
    if (next) {
      show(next, 0);
    }
  };
  const onError = () => {
    const error = video.current?.error;
    if (current && expired(current.grant)) {
      renewIfExpired();
    } else if (error?.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED || error?.code === MediaError.MEDIA_ERR_DECODE) {
      setUnplayable(true);
    }
  };
  return (
    <section class="player" aria-label={t("player")}>
      <Problem error={failure} />
      {current ? (
        <>
          <p class="now-playing" data-testid="now-playing" data-clip={current.clip.id}>
            {t("clip_span", { from: time(current.clip.record.start, props.zone), to: time(current.clip.record.end, props.zone) })}
          </p>
          {unplayable ? <Unplayable clip={current.clip} purpose={props.purpose} /> : null}
          <video
            ref={video}
            src={current.grant.url}
            controls
            autoPlay
            muted
            playsInline
            preload="auto"
            onLoadedMetadata={(event) => {
              event.currentTarget.currentTime = current.offsetS;
            }}
            onTimeUpdate={onTime}
            onEnded={onEnded}
            onPlay={renewIfExpired}
            onSeeking={renewIfExpired}
            onError={onError}
          />
          <p class="sha">
            {t("sha256")} <code data-testid="sha256">{current.grant.sha256}</code>
          </p>
          {current.clip.record.clock_correction_s ? (
            <p class="hint" data-testid="clock-correction">
              {t("clock_corrected", { seconds: String(Math.round(current.clip.record.clock_correction_s)) })}
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function Unplayable({ clip, purpose }: { clip: ListedClip; purpose: Purpose }) {
  const { api, identity } = useArchive();
  const { t } = useI18n();
  const action = useAction();
  const mayDownload = identity.role === "investigator" || identity.role === "dpo";
  const download = () =>
    action.run(async () => {
      const granted = await unwrap(
        api.POST("/clips/{clip_id}/view", { params: { path: { clip_id: clip.id } }, body: { ...purpose, download: true } }),
      );
      location.assign(granted.url);
    });
  return (
    <div class="problem" role="alert">
      <p>{t("cannot_play_codec", { codec: clip.record.video?.codec ?? "?" })}</p>
      {mayDownload ? (
        <button type="button" onClick={download} disabled={action.busy}>
          {t("download_instead")}
        </button>
      ) : (
        <p>{t("download_not_for_role")}</p>
      )}
      <Problem error={action.error} />
    </div>
  );
}
