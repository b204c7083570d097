"""Shares of held footage with police and prosecutors: four eyes, short-lived links, every use logged."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field
from ulid import ULID

from chalicelib.domain.audit import Outcome
from chalicelib.domain.cases import CaseStatus
from chalicelib.domain.clips import ClipStatus, UtcTime
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.shares import (
    NewShare,
    Share,
    ShareStatus,
    ShareView,
    check_expiry,
    new_share_token,
    share_token_hash,
)
from chalicelib.domain.timeutil import iso
from chalicelib.errors import AccessRefused, Conflict, InvalidRequest
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, authorize_addressed
from chalicelib.services.footage import UrlPolicy
from chalicelib.store.audit import AuditLog
from chalicelib.store.cases import CaseBook
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects
from chalicelib.store.shares import ShareBook


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


class SharedManifest(Model):
    share_id: str
    case_reference: str
    recipient: str
    purpose: str
    expires_at: UtcTime
    urls_expire_at: UtcTime
    clips: list[SharedClip]


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
    ) -> None:
        self._book = book
        self._cases = cases
        self._index = index
        self._objects = objects
        self._audit = audit
        self._urls = urls

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
        token, token_sha256 = new_share_token()
        approved = self._book.approve(share_id, principal.id, token_sha256, now)
        self._record(principal, Action.APPROVE_SHARE, approved, now)
        return ApprovedShare(**approved.model_dump(), link=f"{RECIPIENT_PAGE}{token}")

    def revoke(self, principal: Principal, share_id: str, now: datetime) -> Share:
        share = self._share(principal, Action.REVOKE_SHARE, share_id)
        revoked = self._book.revoke(share.share_id, principal.id, now)
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
        # Only what the case still holds: a released clip follows normal retention and may be erased.
        held = set(self._cases.held_clips(share.case_id))
        clips = []
        for clip_id in share.clip_ids:
            clip = self._index.get(clip_id) if clip_id in held else None
            if clip is None or clip.status != ClipStatus.INDEXED:
                continue
            clips.append(
                SharedClip(
                    clip_id=clip.clip_id,
                    camera_id=clip.camera_id,
                    start=clip.start,
                    end=clip.end,
                    sha256=clip.sha256,
                    url=self._objects.view_url(clip.object_key, clip.object_version, ttl),
                )
            )
        recipient = Principal(id=f"share:{share.share_id}", role=Role.RECIPIENT, sites=frozenset({share.site}))
        self._audit.record(
            recipient,
            Action.USE_SHARE,
            share.site,
            f"share:{share.share_id} ({len(clips)} clips)",
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
        )

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
