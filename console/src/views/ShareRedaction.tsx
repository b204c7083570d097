// A redacted share (dpo): one of a requested share's clips redacted and reviewed for the police (the tracks
// kept stay visible) or the press (everyone masked). Approved, the share delivers that masked excerpt only.
import { useMemo, useState } from "preact/hooks";
import { type Schemas, unwrap } from "../api/client";
import { useArchive } from "../components/context";
import { useLoad } from "../components/load";
import { Loading, Notice, Problem } from "../components/ui";
import { useI18n } from "../i18n/i18n";
import { RedactStep, type RedactionTarget, ReviewStep } from "./Redaction";
import { hrefOf } from "./routes";

type ClipRecord = Schemas["ClipRecord"];
type RedactionView = Schemas["RedactionView"];
type Redaction = Schemas["Redaction"];

function useShareTarget(shareId: string): RedactionTarget {
  const { api } = useArchive();
  const { t } = useI18n();
  const framesPurpose = t("purpose_redact_share", { share: shareId });
  return useMemo(() => {
    const share_id = shareId;
    return {
      start: (body) => unwrap(api.POST("/shares/{share_id}/redactions", { params: { path: { share_id } }, body })),
      read: (redaction_id) =>
        unwrap(api.GET("/shares/{share_id}/redactions/{redaction_id}", { params: { path: { share_id, redaction_id } } })),
      review: (redaction_id, body) =>
        unwrap(api.PUT("/shares/{share_id}/redactions/{redaction_id}/review", { params: { path: { share_id, redaction_id } }, body })),
      audiences: ["police", "public"],
      stills: true,
      framesPurpose,
    };
  }, [api, shareId, framesPurpose]);
}

export function ShareRedactionScreen({ shareId }: { shareId: string }) {
  const { api, zoneOf } = useArchive();
  const { t, time } = useI18n();
  const found = useLoad(async () => {
    const share = await unwrap(api.GET("/shares/{share_id}", { params: { path: { share_id: shareId } } }));
    const clips = await Promise.all(
      share.clip_ids.map((clip_id) => unwrap(api.GET("/clips/{clip_id}", { params: { path: { clip_id } } }))),
    );
    return { share, clips };
  }, [api, shareId]);
  const target = useShareTarget(shareId);
  const [chosen, setChosen] = useState<ClipRecord | null>(null);
  const [redaction, setRedaction] = useState<RedactionView | null>(null);
  const [reviewed, setReviewed] = useState<Redaction | null>(null);
  if (found.data === null) {
    return (
      <main>
        <Loading when={found.loading} />
        <Problem error={found.error} />
      </main>
    );
  }
  const { share, clips } = found.data;
  const zone = zoneOf(share.site);
  return (
    <main>
      <h1>{t("redacted_share")}</h1>
      <dl>
        <dt>{t("recipient")}</dt>
        <dd>{share.recipient}</dd>
        <dt>{t("case")}</dt>
        <dd>{share.case_reference}</dd>
        <dt>{t("purpose")}</dt>
        <dd>{share.purpose}</dd>
      </dl>
      <p class="hint">{t("redacted_share_what")}</p>
      {share.status !== "requested" ? <p class="problem" role="alert">{t("share_not_requested")}</p> : null}
      <h2>{t("clip_to_redact")}</h2>
      <ul>
        {clips.map((clip) => (
          <li key={clip.clip_id}>
            <button type="button" onClick={() => (setChosen(clip), setRedaction(null), setReviewed(null))} aria-pressed={chosen?.clip_id === clip.clip_id}>
              {clip.camera_id} · {time(clip.start, zone)} – {time(clip.end, zone)}
            </button>
          </li>
        ))}
      </ul>
      {chosen && share.status === "requested" ? (
        <section class="panel" aria-labelledby="redact-share">
          <h2 id="redact-share">{t("redact_share")}</h2>
          <RedactStep target={target} clip={chosen} onFound={(view) => (setRedaction(view), setReviewed(null))} />
          {redaction ? <ReviewStep target={target} clip={chosen} redaction={redaction} onReviewed={setReviewed} /> : null}
          {reviewed ? (
            <Notice>
              {t("share_review_saved", { masked: reviewed.review?.masked?.length ?? 0 })}{" "}
              <a href={hrefOf({ screen: "dpo", site: share.site })}>{t("back_to_approvals")}</a>
            </Notice>
          ) : null}
        </section>
      ) : null}
    </main>
  );
}
