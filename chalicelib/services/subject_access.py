"""The dpo answers subject access requests: find the footage, track the deadline, export it masked."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import Field
from ulid import ULID

from chalicelib.domain.audit import Outcome
from chalicelib.domain.clips import ClipRecord, ClipStatus, UtcTime
from chalicelib.domain.principal import Principal
from chalicelib.domain.redaction import RedactionStatus
from chalicelib.domain.subject_requests import (
    Closing,
    Export,
    ExportRequest,
    ExportStatus,
    ExportView,
    Extension,
    NewSubjectRequest,
    RequestStatus,
    SubjectRequest,
    deadline_for,
    extended_deadline,
)
from chalicelib.domain.timeutil import site_date
from chalicelib.errors import Conflict, InvalidRequest, NotFound
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, authorize_addressed
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects
from chalicelib.store.queues import WorkQueue
from chalicelib.store.subject_requests import SubjectRequestBook


class RequestState(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    CLOSED = "closed"


class RequestQuery(Model):
    site: str = Field(min_length=1, max_length=64, description="the site (municipality) id")
    state: RequestState = Field(default=RequestState.OPEN, description="overdue: open past the deadline")


class ListedRequest(SubjectRequest):
    overdue: bool = Field(description="open past its deadline")


class RequestList(Model):
    requests: list[ListedRequest] = Field(description="earliest deadline first: overdue requests lead")


class SubjectRequestDetail(ListedRequest):
    clips: list[ClipRecord] = Field(description="the clips of its cameras in its window")


class ExportState(ExportView):
    url: str | None = Field(default=None, description="once ready: a short-lived download link of the zip")
    url_expires_at: UtcTime | None = None


def covered_clip(index: ClipIndex, request: SubjectRequest, clip_id: str) -> ClipRecord:
    """The clip, if it is indexed footage of the request's cameras in its window (else refused)."""
    clip = index.get(clip_id)
    matches = (
        clip is not None
        and clip.site == request.site
        and clip.camera_id in request.camera_ids
        and request.start <= clip.start <= request.end
    )
    if clip is None or not matches:
        raise InvalidRequest(f"clip {clip_id} is not footage this request covers")
    if clip.status != ClipStatus.INDEXED:
        raise Conflict(f"clip {clip_id} is {clip.status}: there is no footage to export")
    return clip


class SubjectAccess:
    def __init__(
        self,
        book: SubjectRequestBook,
        catalog: Catalog,
        index: ClipIndex,
        objects: ClipObjects,
        audit: AuditLog,
        exports: WorkQueue,
        download_ttl: timedelta,
    ) -> None:
        self._book = book
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._audit = audit
        self._exports = exports
        self._download_ttl = download_ttl

    def open(self, principal: Principal, new: NewSubjectRequest, now: datetime) -> SubjectRequest:
        authorize(principal, Action.SUBJECT_REQUESTS, new.site_id)
        for camera_id in new.camera_ids:
            camera = self._catalog.get_camera(camera_id)
            if camera is None or camera.site_id != new.site_id:
                raise InvalidRequest(f"camera {camera_id} is not a camera of site {new.site_id}")
        if new.received > self._today(new.site_id, now):
            raise InvalidRequest("a request cannot be received in the future")
        request = SubjectRequest(
            request_id=str(ULID.from_datetime(now)),
            site=new.site_id,
            camera_ids=new.camera_ids,
            start=new.start,
            end=new.end,
            received=new.received,
            deadline=deadline_for(new.received),
            description=new.description,
            status=RequestStatus.OPEN,
            created_by=principal.id,
            created_at=now,
        )
        self._book.add(request)
        self._record(principal, Action.SUBJECT_REQUESTS, request, now, f"opened, answer due {request.deadline}")
        return request

    def request(self, principal: Principal, request_id: str, now: datetime) -> SubjectRequestDetail:
        """The request, whether it is overdue, and the clips that match its cameras and window."""
        request = self._request(principal, Action.SUBJECT_REQUESTS, request_id)
        clips = [
            clip
            for camera_id in request.camera_ids
            for clip in self._index.camera_window(camera_id, request.start, request.end)
        ]
        self._record(principal, Action.SUBJECT_REQUESTS, request, now, f"read, {len(clips)} matching clips")
        overdue = request.is_overdue(self._today(request.site, now))
        return SubjectRequestDetail(**request.model_dump(), overdue=overdue, clips=clips)

    def extend(self, principal: Principal, request_id: str, extension: Extension, now: datetime) -> SubjectRequest:
        """Art. 12(3): once, by two months, and only while the first month runs."""
        request = self._request(principal, Action.SUBJECT_REQUESTS, request_id)
        if self._today(request.site, now) > request.deadline:
            raise Conflict(f"the deadline {request.deadline} has passed: it can no longer be extended")
        extended = self._book.extend(request_id, extended_deadline(request.received).isoformat(), extension.reason)
        self._record(
            principal,
            Action.SUBJECT_REQUESTS,
            extended,
            now,
            f"extended to {extended.deadline}",
            reason=extension.reason,
        )
        return extended

    def close(self, principal: Principal, request_id: str, closing: Closing, now: datetime) -> SubjectRequest:
        self._request(principal, Action.SUBJECT_REQUESTS, request_id)
        closed = self._book.close(request_id, principal.id, closing.outcome, now)
        self._record(principal, Action.SUBJECT_REQUESTS, closed, now, "closed", reason=closing.outcome)
        return closed

    def requests_of_site(self, principal: Principal, query: RequestQuery, now: datetime) -> RequestList:
        authorize(principal, Action.SUBJECT_REQUESTS, query.site)
        today = self._today(query.site, now)
        if query.state == RequestState.OVERDUE:
            found = self._book.of_site(query.site, RequestStatus.OPEN, due_before=today.isoformat())
        else:
            found = self._book.of_site(query.site, RequestStatus(query.state.value))
        listed = [ListedRequest(**request.model_dump(), overdue=request.is_overdue(today)) for request in found]
        return RequestList(requests=listed)

    def export(self, principal: Principal, request_id: str, wanted: ExportRequest, now: datetime) -> Export:
        """Queue a masked export of one matching clip; the exports function makes it."""
        request = self._request(principal, Action.EXPORT_FOOTAGE, request_id)
        if request.status != RequestStatus.OPEN:
            raise Conflict(f"request {request_id} is closed")
        clip = covered_clip(self._index, request, wanted.clip_id)
        refusal = self._unreviewed(request, wanted)
        if refusal:
            self._audit.record(
                principal,
                Action.EXPORT_FOOTAGE,
                request.site,
                f"subject_request:{request_id} export of clip:{clip.clip_id}: {refusal}",
                Outcome.REFUSED,
                now,
            )
            raise Conflict(refusal)
        export = Export(
            export_id=str(ULID.from_datetime(now)),
            request_id=request_id,
            site=request.site,
            clip_id=clip.clip_id,
            request=wanted,
            status=ExportStatus.PENDING,
            requested_by=principal.id,
            requested_at=now,
        )
        self._book.add_export(export)
        self._exports.send({"request_id": request_id, "export_id": export.export_id})
        self._record(
            principal, Action.EXPORT_FOOTAGE, request, now, f"export {export.export_id} of clip:{clip.clip_id}"
        )
        return export

    def _unreviewed(self, request: SubjectRequest, wanted: ExportRequest) -> str | None:
        """Why the export may not be made yet: it must apply a reviewed redaction covering what it shows."""
        if wanted.redaction_id is None:
            return "an export applies a reviewed redaction: redact the excerpt and review its tracks first"
        redaction = self._book.get_redaction(request.request_id, wanted.redaction_id)
        if redaction is None or redaction.clip_id != wanted.clip_id:
            return f"redaction {wanted.redaction_id} is not one of clip {wanted.clip_id}"
        if redaction.status != RedactionStatus.REVIEWED or redaction.review is None:
            return f"redaction {wanted.redaction_id} is {redaction.status}: review its tracks first"
        span = (redaction.start_s, redaction.end_s)
        times = [*wanted.stills_at_s, *((wanted.excerpt.start_s, wanted.excerpt.end_s) if wanted.excerpt else ())]
        if any(not span[0] <= t <= span[1] for t in times):
            return f"the export reaches outside redaction {wanted.redaction_id} ({span[0]}-{span[1]} s)"
        return None

    def export_status(self, principal: Principal, request_id: str, export_id: str, now: datetime) -> ExportState:
        """The export's state; once ready, a short-lived download link, with the manifest and its sha256."""
        request = self._request(principal, Action.EXPORT_FOOTAGE, request_id)
        export = self._book.get_export(request_id, export_id)
        if export is None:
            raise NotFound(f"export {export_id} not found")
        if export.status == ExportStatus.READY and export.object_key and export.expires_at and export.expires_at > now:
            ttl = min(self._download_ttl, export.expires_at - now)
            url = self._objects.view_url(export.object_key, None, ttl)
            self._record(principal, Action.EXPORT_FOOTAGE, request, now, f"download of export {export_id}")
            return ExportState(**export.model_dump(), url=url, url_expires_at=now + ttl)
        return ExportState(**export.model_dump())

    def _today(self, site_id: str, now: datetime) -> date:
        site = self._catalog.get_site(site_id)
        if site is None:
            raise NotFound(f"site {site_id} not found")
        return site_date(now, site.timezone)

    def _request(self, principal: Principal, action: Action, request_id: str) -> SubjectRequest:
        found = self._book.get(request_id)
        return authorize_addressed(principal, action, found, lambda r: r.site, f"subject_request:{request_id}")

    def _record(
        self,
        principal: Principal,
        action: Action,
        request: SubjectRequest,
        now: datetime,
        what: str,
        *,
        reason: str | None = None,
    ) -> None:
        self._audit.record(
            principal,
            action,
            request.site,
            f"subject_request:{request.request_id} {what}",
            Outcome.ALLOWED,
            now,
            reason=reason,
        )
