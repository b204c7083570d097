"""Investigators open cases and hold footage; holds keep it past retention and block erasure, in the index
and in S3 itself (Object Lock legal hold), until released or the case is closed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field
from ulid import ULID

from chalicelib.domain.audit import Outcome
from chalicelib.domain.cases import Case, CaseStatus, HoldRequest, NewCase, review_date_for
from chalicelib.domain.clips import Clip, ClipStatus, thumbnail_prefix
from chalicelib.domain.principal import Principal
from chalicelib.domain.query import Window
from chalicelib.domain.shares import ShareStatus
from chalicelib.domain.text import Statement
from chalicelib.errors import Conflict, InvalidRequest, NotFound
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, authorize_addressed
from chalicelib.store.audit import AuditLog
from chalicelib.store.cases import CaseBook
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects
from chalicelib.store.shares import ShareBook


class CloseRequest(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Statement = Field(default="", max_length=1000)


class CaseState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    DUE_FOR_REVIEW = "due_for_review"


class CaseQuery(Model):
    site: str = Field(min_length=1, max_length=64, description="the site (municipality) id")
    state: CaseState = Field(default=CaseState.OPEN, description="due_for_review: open cases past review (dpo)")


class CaseList(Model):
    cases: list[Case]


class CaseDetail(Case):
    held_clips: list[str]


class HoldResult(Model):
    case_id: str
    held: list[str]


class ReleaseResult(Model):
    case_id: str
    released: str
    still_held_by: list[str] = Field(description="other cases that still hold the clip")


class Cases:
    def __init__(
        self,
        book: CaseBook,
        catalog: Catalog,
        index: ClipIndex,
        objects: ClipObjects,
        audit: AuditLog,
        shares: ShareBook,
    ) -> None:
        self._book = book
        self._shares = shares
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._audit = audit

    def open(self, principal: Principal, new: NewCase, now: datetime) -> Case:
        authorize(principal, Action.OPEN_CASE, new.site_id)
        site = self._catalog.get_site(new.site_id)
        if site is None:
            raise NotFound(f"site {new.site_id} not found")
        case = Case(
            case_id=str(ULID.from_datetime(now)),
            site=site.site_id,
            reference=new.reference,
            reason=new.reason,
            status=CaseStatus.OPEN,
            opened_by=principal.id,
            opened_at=now,
            review_date=review_date_for(new, site, now),
        )
        self._book.open(case)
        self._audit.record(
            principal,
            Action.OPEN_CASE,
            case.site,
            f"case:{case.case_id}",
            Outcome.ALLOWED,
            now,
            case_id=case.reference,
            reason=case.reason,
        )
        return case

    def case(self, principal: Principal, case_id: str) -> CaseDetail:
        case = self._case(principal, Action.READ_CASE, case_id)
        return CaseDetail(**case.model_dump(), held_clips=sorted(self._book.held_clips(case_id)))

    def hold(self, principal: Principal, case_id: str, request: HoldRequest, now: datetime) -> HoldResult:
        """Hold clips for an open case: S3 legal hold first, then the index, then the case's own list."""
        case = self._case(principal, Action.HOLD_CLIPS, case_id)
        if case.status != CaseStatus.OPEN:
            raise Conflict(f"case {case_id} is closed")
        held = []
        for clip in self._clips_to_hold(case, request):
            # An indexed clip whose footage has no version left to lock was deleted by a sweep (or an erasure)
            # that has not marked it yet: S3's lock, set first, is what that sweep's deletion would have met.
            footage_locked = self._set_legal_hold(clip, on=True)
            if (clip.status == ClipStatus.INDEXED and not footage_locked) or self._index.add_hold(
                clip.clip_id, case_id
            ) is None:
                self._set_legal_hold(clip, on=False)
                raise Conflict(f"clip {clip.clip_id} has no footage left to hold")
            self._book.add_hold(case_id, clip.clip_id, now)
            self._audit.record(
                principal,
                Action.HOLD_CLIPS,
                case.site,
                f"clip:{clip.clip_id}",
                Outcome.ALLOWED,
                now,
                case_id=case.reference,
            )
            held.append(clip.clip_id)
        return HoldResult(case_id=case_id, held=held)

    def release(self, principal: Principal, case_id: str, clip_id: str, now: datetime) -> ReleaseResult:
        case = self._case(principal, Action.RELEASE_HOLD, case_id)
        if clip_id not in set(self._book.held_clips(case_id)):
            raise NotFound(f"case {case_id} holds no clip {clip_id}")
        remaining = self._release(case, clip_id)
        self._audit.record(
            principal, Action.RELEASE_HOLD, case.site, f"clip:{clip_id}", Outcome.ALLOWED, now, case_id=case.reference
        )
        return ReleaseResult(case_id=case_id, released=clip_id, still_held_by=remaining)

    def close(self, principal: Principal, case_id: str, request: CloseRequest, now: datetime) -> Case:
        """Close the case, end its shares and release every hold it has: normal retention applies again."""
        case = self._case(principal, Action.CLOSE_CASE, case_id)
        if case.status != CaseStatus.OPEN:
            raise Conflict(f"case {case_id} is already closed")
        # Shares first, then holds: a failure half way never leaves a live share of released footage.
        self._end_shares(principal, case, now)
        for clip_id in list(self._book.held_clips(case_id)):
            self._release(case, clip_id)
        closed = self._book.close(case_id, principal.id, now)
        self._audit.record(
            principal,
            Action.CLOSE_CASE,
            case.site,
            f"case:{case_id}",
            Outcome.ALLOWED,
            now,
            case_id=case.reference,
            reason=request.reason or None,
        )
        return closed

    def cases_of_site(self, principal: Principal, query: CaseQuery, now: datetime) -> CaseList:
        """A site's open or closed cases (investigator, dpo), or those past their review date (dpo)."""
        if query.state == CaseState.DUE_FOR_REVIEW:
            authorize(principal, Action.REVIEW_CASES, query.site)
            return CaseList(cases=self._book.due_for_review(query.site, now))
        authorize(principal, Action.LIST_CASES, query.site)
        return CaseList(cases=self._book.of_site(query.site, CaseStatus(query.state.value)))

    def _end_shares(self, principal: Principal, case: Case, now: datetime) -> None:
        live = [ShareStatus.REQUESTED, ShareStatus.APPROVED]
        for share in self._shares.of_site(case.site, case_id=case.case_id):
            if share.status not in live:
                continue
            self._shares.revoke(share.share_id, principal.id, now)
            self._audit.record(
                principal,
                Action.REVOKE_SHARE,
                case.site,
                f"share:{share.share_id}",
                Outcome.ALLOWED,
                now,
                case_id=case.reference,
                reason="its case was closed",
            )

    def _release(self, case: Case, clip_id: str) -> list[str]:
        """Drop the case's hold; the S3 legal hold goes only with the clip's last hold."""
        clip = self._index.remove_hold(clip_id, case.case_id)
        self._book.remove_hold(case.case_id, clip_id)
        if clip is None:
            return []
        if not clip.holds:
            self._set_legal_hold(clip, on=False)
        return sorted(clip.holds)

    def _set_legal_hold(self, clip: Clip, *, on: bool) -> int:
        """Lock (or unlock) the clip's footage and stills; how many versions of its footage were changed."""
        self._objects.set_legal_hold(thumbnail_prefix(clip.site, clip.camera_id, clip.clip_id), on)
        return self._objects.set_legal_hold(clip.object_key, on)

    def _clips_to_hold(self, case: Case, request: HoldRequest) -> list[Clip]:
        if request.camera_id is not None and request.start is not None and request.end is not None:
            camera = self._catalog.get_camera(request.camera_id)
            if camera is None or camera.site_id != case.site:
                raise InvalidRequest(f"camera {request.camera_id} is not a camera of site {case.site}")
            Window(request.start, request.end).check()
            return list(self._index.camera_window(request.camera_id, request.start, request.end))
        clips = []
        for clip_id in request.clip_ids:
            clip = self._index.get(clip_id)
            if clip is None or clip.site != case.site:
                raise InvalidRequest(f"clip {clip_id} is not footage of site {case.site}")
            clips.append(clip)
        return clips

    def _case(self, principal: Principal, action: Action, case_id: str) -> Case:
        return authorize_addressed(principal, action, self._book.get(case_id), lambda c: c.site, f"case:{case_id}")
