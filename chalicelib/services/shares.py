"""Shares of held footage with police and prosecutors: four eyes, short-lived links, every use logged.

The dpo may make a requested share a redacted one (police: masked as reviewed; the press: everyone masked):
it is approved only once its redaction is reviewed, and then delivers the masked export alone, never a clip."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ConfigDict, Field
from ulid import ULID

from chalicelib.domain.audit import Outcome
from chalicelib.domain.cases import CaseStatus
from chalicelib.domain.clips import Clip, ClipStatus, UtcTime
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.redaction import (
    SHARE_AUDIENCES,
    Audience,
    NewShareRedaction,
    Owner,
    Redaction,
    RedactionStatus,
    Review,
)
from chalicelib.domain.shares import (
    NewShare,
    Share,
    ShareStatus,
    ShareView,
    check_expiry,
    new_share_token,
    share_token_hash,
)
from chalicelib.domain.subject_requests import Excerpt, Export, ExportRequest, ExportStatus
from chalicelib.domain.timeutil import iso
from chalicelib.errors import AccessRefused, Conflict, InvalidRequest
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, authorize_addressed
from chalicelib.services.footage import UrlPolicy
from chalicelib.services.redactions import RedactionOwner, Redactions, RedactionView
from chalicelib.store.audit import AuditLog
from chalicelib.store.cases import CaseBook
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects
from chalicelib.store.queues import WorkQueue
from chalicelib.store.shares import ShareBook
from chalicelib.store.subject_requests import SubjectRequestBook


class ShareUnavailable(AccessRefused):
    """The link is unknown, revoked or expired: the recipient gets nothing, the attempt is audited."""

    status = 410
    code = "share_unavailable"


# The recipient's page reads the token from the link's fragment, which browsers never send to a server,
# and posts it: so no access log, proxy or Referer ever carries it.
RECIPIENT_PAGE = "console#/s/"


class ApprovedShare(ShareView):
    link: str = Field(
        description="the recipient's link, relative to the API's root URL (`<api>/console#/s/<token>`); "
        "in this answer only"
    )


class ShareLink(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=1, max_length=200, description="the token from the recipient's link")


class SharedClip(Model):
    clip_id: str
    camera_id: str
    start: UtcTime
    end: UtcTime
    sha256: str
    url: str = Field(description="a signed GET of the clip, valid until urls_expire_at")


class SharedExcerpt(Model):
    """A redacted share's delivery: the masked excerpt and stills of one clip, zipped with their manifest."""

    clip_id: str
    camera_id: str
    start: UtcTime = Field(description="the clip's start; the excerpt's times are in its manifest")
    audience: Audience = Field(description="police: masked as the dpo reviewed; public: everyone masked")
    status: ExportStatus = Field(description="pending while it is made: ask again shortly")
    sha256: str | None = Field(default=None, description="of the zip, once ready")
    manifest: dict[str, object] | None = Field(default=None, description="the zip's manifest: each file's sha256")
    url: str | None = Field(default=None, description="once ready: a signed GET of the zip, valid until urls_expire_at")


class SharedManifest(Model):
    share_id: str
    case_reference: str
    recipient: str
    purpose: str
    expires_at: UtcTime
    urls_expire_at: UtcTime
    clips: list[SharedClip] = Field(description="the original clips; none for a redacted share")
    redacted: bool = Field(default=False, description="a redacted share delivers masked excerpts only")
    excerpts: list[SharedExcerpt] = Field(default=[], description="a redacted share's masked excerpts")


class ShareQuery(Model):
    site: str = Field(min_length=1, max_length=64, description="the site (municipality) id")
    status: ShareStatus | None = Field(default=None, description="only shares in this state")


class ShareList(Model):
    shares: list[ShareView]


class Shares:
    def __init__(
        self,
        book: ShareBook,
        cases: CaseBook,
        index: ClipIndex,
        objects: ClipObjects,
        audit: AuditLog,
        urls: UrlPolicy,
        redactions: Redactions,
        work: SubjectRequestBook,
        exports: WorkQueue,
    ) -> None:
        self._book = book
        self._cases = cases
        self._index = index
        self._objects = objects
        self._audit = audit
        self._urls = urls
        self._redactions = redactions
        self._work = work  # a redacted share's redactions and export, as a subject request's
        self._exports = exports

    def request(self, principal: Principal, new: NewShare, now: datetime) -> Share:
        """An investigator asks to disclose clips that the case holds (so they outlive the share)."""
        case = self._cases.get(new.case_id)
        case = authorize_addressed(
            principal, Action.REQUEST_SHARE, case, lambda found: found.site, f"case:{new.case_id}"
        )
        if case.status != CaseStatus.OPEN:
            raise Conflict(f"case {case.case_id} is closed")
        check_expiry(new.expires_at, now)
        held = set(self._cases.held_clips(case.case_id))
        missing = [clip_id for clip_id in new.clip_ids if clip_id not in held]
        if missing:
            raise InvalidRequest(f"hold the clips for the case before sharing them: {', '.join(missing)}")
        share = Share(
            share_id=str(ULID.from_datetime(now)),
            site=case.site,
            case_id=case.case_id,
            case_reference=case.reference,
            clip_ids=tuple(dict.fromkeys(new.clip_ids)),
            recipient=new.recipient,
            purpose=new.purpose,
            expires_at=new.expires_at,
            status=ShareStatus.REQUESTED,
            requested_by=principal.id,
            requested_at=now,
        )
        self._book.add(share)
        self._record(principal, Action.REQUEST_SHARE, share, now)
        return share

    def approve(self, principal: Principal, share_id: str, now: datetime) -> ApprovedShare:
        """A second person approves; the recipient's link is in this answer only."""
        share = self._share(principal, Action.APPROVE_SHARE, share_id)
        if share.requested_by == principal.id:
            raise AccessRefused(
                "a share is approved by someone other than its requester",
                action=Action.APPROVE_SHARE,
                site=share.site,
                target=f"share:{share_id}",
            )
        if share.expires_at <= now:
            raise Conflict(f"share {share_id} expired before it was approved")
        redaction = self._reviewed_redaction(principal, share, now)
        export_id = str(ULID.from_datetime(now)) if redaction else None
        token, token_sha256 = new_share_token()
        approved = self._book.approve(share_id, principal.id, token_sha256, now, export_id)
        if redaction and export_id:
            self._export(principal, approved, redaction, export_id, now)
        self._record(principal, Action.APPROVE_SHARE, approved, now)
        return ApprovedShare(**approved.model_dump(), link=f"{RECIPIENT_PAGE}{token}")

    def _reviewed_redaction(self, principal: Principal, share: Share, now: datetime) -> Redaction | None:
        """A redacted share's reviewed redaction; refused (409, audited) while it is not reviewed."""
        if share.redaction_id is None:
            return None
        redaction = self._work.get_redaction(share.share_id, share.redaction_id)
        if redaction is not None and redaction.status == RedactionStatus.REVIEWED and redaction.review is not None:
            return redaction
        state = redaction.status if redaction else "gone"
        refusal = f"redaction {share.redaction_id} is {state}: review it before approving the redacted share"
        self._audit.record(
            principal,
            Action.APPROVE_SHARE,
            share.site,
            f"share:{share.share_id}: {refusal}",
            Outcome.REFUSED,
            now,
            case_id=share.case_reference,
        )
        raise Conflict(refusal)

    def _export(self, principal: Principal, share: Share, redaction: Redaction, export_id: str, now: datetime) -> None:
        """Queue the masked export the approved share delivers, made as a subject access export is; it is
        deleted when the share expires."""
        export = Export(
            export_id=export_id,
            owner=Owner.SHARE,
            request_id=share.share_id,
            site=share.site,
            clip_id=redaction.clip_id,
            request=ExportRequest(
                clip_id=redaction.clip_id,
                redaction_id=redaction.redaction_id,
                stills_at_s=redaction.stills_at_s,
                excerpt=Excerpt(start_s=redaction.start_s, end_s=redaction.end_s),
            ),
            status=ExportStatus.PENDING,
            requested_by=principal.id,
            requested_at=now,
            expires_at=share.expires_at,
        )
        self._work.add_export(export)
        self._exports.send({"request_id": share.share_id, "export_id": export_id})

    def start_redaction(self, principal: Principal, share_id: str, new: NewShareRedaction, now: datetime) -> Redaction:
        """Make a requested share a redacted one: the redaction function finds what to mask in one of its clips'
        excerpt; the share then delivers that masked excerpt only (a later redaction replaces an earlier one)."""
        share = self._share(principal, Action.REDACT_SHARE, share_id)
        self._still_requested(share)
        if new.clip_id not in share.clip_ids:
            raise InvalidRequest(f"clip {new.clip_id} is not one of share {share_id}'s clips")
        clip = self._held_clip(share, new.clip_id)
        if clip is None:
            raise Conflict(f"clip {new.clip_id} is no longer held for the case, or has no footage")
        redaction = self._redactions.start_for(principal, _owner(share), clip, new, now)
        self._book.redact(share_id, redaction.redaction_id)
        return redaction

    def redaction(self, principal: Principal, share_id: str, redaction_id: str, now: datetime) -> RedactionView:
        share = self._share(principal, Action.REDACT_SHARE, share_id)
        return self._redactions.view_of(principal, _owner(share), redaction_id, now)

    def review_redaction(
        self, principal: Principal, share_id: str, redaction_id: str, review: Review, now: datetime
    ) -> Redaction:
        """The dpo's decisions for the police (tracks kept stay visible) or the press (everyone masked)."""
        share = self._share(principal, Action.REDACT_SHARE, share_id)
        self._still_requested(share)
        if review.audience not in SHARE_AUDIENCES:
            raise InvalidRequest("a share is redacted for the police or the public: it has no requester")
        if redaction_id != share.redaction_id:
            raise Conflict(f"redaction {redaction_id} is not the one share {share_id} delivers")
        return self._redactions.review_of(principal, _owner(share), redaction_id, review, now)

    @staticmethod
    def _still_requested(share: Share) -> None:
        # Once approved, what the link delivers is fixed: the export is made from the review as it stood.
        if share.status != ShareStatus.REQUESTED:
            raise Conflict(f"share {share.share_id} is {share.status}: its redaction can no longer change")

    def _held_clip(self, share: Share, clip_id: str) -> Clip | None:
        """The clip, while the share's case holds it and its footage is indexed."""
        if clip_id not in set(self._cases.held_clips(share.case_id)):
            return None
        clip = self._index.get(clip_id)
        return clip if clip is not None and clip.status == ClipStatus.INDEXED else None

    def revoke(self, principal: Principal, share_id: str, now: datetime) -> Share:
        share = self._share(principal, Action.REVOKE_SHARE, share_id)
        revoked = self._book.revoke(share.share_id, principal.id, now)
        if revoked.export_id:
            # Its masked export is of no use to anyone now: deleted by the next sweep, not when the share expires.
            self._work.withdraw_export(revoked.share_id, revoked.export_id, now)
        self._record(principal, Action.REVOKE_SHARE, revoked, now)
        return revoked

    def shares_of_site(self, principal: Principal, query: ShareQuery) -> ShareList:
        """A site's shares, newest first: the dpo's approval queue, an investigator's requests."""
        authorize(principal, Action.LIST_SHARES, query.site)
        return ShareList(shares=self._book.of_site(query.site, query.status))

    def share(self, principal: Principal, share_id: str) -> Share:
        return self._share(principal, Action.READ_SHARE, share_id)

    def use(self, token: str, now: datetime) -> SharedManifest:
        """The recipient's manifest: each clip's signed URL and sha256 (chain of custody), until expiry."""
        share = self._book.by_token(share_token_hash(token))
        if share is None:
            # The target names no token: a mistyped link is one character from a real one.
            raise ShareUnavailable("this link is not valid", action=Action.USE_SHARE, site="", target="share:unknown")
        refusal = None
        if share.status != ShareStatus.APPROVED:
            refusal = "this link was revoked"
        elif share.expires_at <= now:
            refusal = "this link has expired"
        case = self._cases.get(share.case_id)
        if not refusal and (case is None or case.status != CaseStatus.OPEN):
            refusal = "the case this link was given for is closed"
        if refusal:
            raise ShareUnavailable(refusal, action=Action.USE_SHARE, site=share.site, target=f"share:{share.share_id}")
        ttl = min(self._urls.default, share.expires_at - now)
        # A redacted share delivers its masked export alone: never a clip, whatever the share lists.
        clips = [] if share.redaction_id else self._shared_clips(share, ttl)
        excerpts = self._shared_excerpts(share, ttl)
        delivered = f"{len(excerpts)} redacted excerpts" if share.redaction_id else f"{len(clips)} clips"
        recipient = Principal(id=f"share:{share.share_id}", role=Role.RECIPIENT, sites=frozenset({share.site}))
        self._audit.record(
            recipient,
            Action.USE_SHARE,
            share.site,
            f"share:{share.share_id} ({delivered})",
            Outcome.ALLOWED,
            now,
            purpose=share.purpose,
            case_id=share.case_reference,
            reason=f"recipient: {share.recipient}",
        )
        return SharedManifest(
            share_id=share.share_id,
            case_reference=share.case_reference,
            recipient=share.recipient,
            purpose=share.purpose,
            expires_at=share.expires_at,
            urls_expire_at=now + ttl,
            clips=clips,
            redacted=share.redaction_id is not None,
            excerpts=excerpts,
        )

    def _shared_clips(self, share: Share, ttl: timedelta) -> list[SharedClip]:
        # Only what the case still holds: a released clip follows normal retention and may be erased.
        clips = []
        for clip_id in share.clip_ids:
            clip = self._held_clip(share, clip_id)
            if clip is not None:
                url = self._objects.view_url(clip.object_key, clip.object_version, ttl)
                clips.append(
                    SharedClip(
                        clip_id=clip.clip_id,
                        camera_id=clip.camera_id,
                        start=clip.start,
                        end=clip.end,
                        sha256=clip.sha256,
                        url=url,
                    )
                )
        return clips

    def _shared_excerpts(self, share: Share, ttl: timedelta) -> list[SharedExcerpt]:
        """The masked export of an approved redacted share, while the case holds its clip."""
        export = self._work.get_export(share.share_id, share.export_id) if share.export_id else None
        redaction = self._work.get_redaction(share.share_id, share.redaction_id) if share.redaction_id else None
        if export is None or redaction is None or redaction.review is None:
            return []
        clip = self._held_clip(share, export.clip_id)
        if clip is None:
            return []
        key = export.object_key if export.status == ExportStatus.READY else None
        return [
            SharedExcerpt(
                clip_id=clip.clip_id,
                camera_id=clip.camera_id,
                start=clip.start,
                audience=redaction.review.audience,
                status=export.status,
                sha256=export.sha256,
                manifest=export.manifest,
                url=self._objects.view_url(key, None, ttl) if key else None,
            )
        ]

    def _share(self, principal: Principal, action: Action, share_id: str) -> Share:
        return authorize_addressed(principal, action, self._book.get(share_id), lambda s: s.site, f"share:{share_id}")

    def _record(self, principal: Principal, action: Action, share: Share, now: datetime) -> None:
        self._audit.record(
            principal,
            action,
            share.site,
            f"share:{share.share_id} ({len(share.clip_ids)} clips)",
            Outcome.ALLOWED,
            now,
            purpose=share.purpose,
            case_id=share.case_reference,
            reason=f"recipient: {share.recipient}; expires {iso(share.expires_at)}",
        )


def _owner(share: Share) -> RedactionOwner:
    return RedactionOwner(Owner.SHARE, share.share_id, share.site, Action.REDACT_SHARE)
