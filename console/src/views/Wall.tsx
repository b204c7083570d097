// The camera wall: every camera of the site with its latest poster, whether it records, its last clip.
import { useEffect, useState } from "preact/hooks";
import { unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Still, type Stills } from "../components/Still";
import { Loading, Problem } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { hrefOf } from "./routes";

const REFRESH_MS = 60_000; // posters are signed for five minutes

export function WallScreen({ site }: { site: string }) {
  const { api, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const wall = useLoad(() => unwrap(api.GET("/sites/{site}/wall", { params: { path: { site } } })), [api, site]);
  useEffect(() => {
    const timer = setInterval(wall.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [wall.reload]);
  const zone = zoneOf(site);
  return (
    <main>
      <h1>{t("wall_title")}</h1>
      <Loading when={wall.loading && wall.data === null} />
      <Problem error={wall.error} />
      {wall.data ? (
        <ul class="wall" aria-label={t("wall_title")}>
          {wall.data.cameras.map((camera) => (
            <li key={camera.camera_id} class={`tile ${camera.state}`}>
              <a href={hrefOf({ screen: "camera", site, camera: camera.camera_id, day: null })}>
                <Poster stills={camera.poster ?? null} name={camera.name} />
                <span class="name">{camera.name}</span>
              </a>
              <span class="location">{camera.location}</span>
              <span class="state" data-state={camera.state}>
                {camera.state === "recording"
                  ? t("recording")
                  : camera.last_clip_at
                    ? t("silent_since", { time: time(camera.last_clip_at, zone, false) })
                    : t("never_recorded")}
              </span>
              {camera.last_clip_at ? (
                <span class="last">{t("last_clip", { time: time(camera.last_clip_at, zone) })}</span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </main>
  );
}

/** The latest poster (the first of its clip's stills), loaded as it comes into view; none (or one erased
 * since) says so instead. */
function Poster({ stills, name }: { stills: Stills | null; name: string }) {
  const { t } = useI18n();
  const [failed, setFailed] = useState(false);
  if (stills === null || failed) {
    return <span class="no-poster">{t("no_footage_yet")}</span>;
  }
  return <Still stills={stills} index={0} alt={t("poster_of", { camera: name })} loading="lazy" onError={() => setFailed(true)} />;
}
