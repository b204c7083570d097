"""The dpo has an excerpt redacted: the redaction function finds the tracks, the dpo reviews them, and only a
reviewed redaction is exported (subject access) or shared redacted (police, press)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field
from ulid import ULID

from chalicelib.domain.audit import Outcome
from chalicelib.domain.clips import ClipRecord, UtcTime
from chalicelib.domain.principal import Principal
from chalicelib.domain.redaction import (
    Audience,
    NewRedaction,
    NewShareRedaction,
    Owner,
    Redaction,
    RedactionStatus,
    Review,
    ReviewRecord,
    TrackSummary,
    thumbnails_key,
    tracks_key,
)
from chalicelib.domain.subject_requests import RequestStatus, SubjectRequest
from chalicelib.errors import Conflict, InvalidRequest, NotFound
from chalicelib.media.redaction.plan import requester_tracks, tracks_at
from chalicelib.media.redaction.tracks_file import TracksFile
from chalicelib.model import Model
from chalicelib.policy import Action, authorize_addressed
from chalicelib.services.subject_access import covered_clip
from chalicelib.store.audit import AuditLog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects
from chalicelib.store.queues import WorkQueue
from chalicelib.store.subject_requests import SubjectRequestBook


class ReviewedTrack(TrackSummary):
    thumbnails_url: str | None = Field(default=None, description="a short-lived link to its strip of thumbnails")


class RedactionView(Redaction):
    tracks: tuple[ReviewedTrack, ...] = ()  # the summaries, each with its strip's link
    urls_expire_at: UtcTime | None = None


class RedactionMessage(Model):
    request_id: str = Field(description="the redaction's owner's id")
    redaction_id: str


@dataclass(frozen=True)
class RedactionOwner:
    """What a redaction is for, once the caller has been allowed to redact it: a subject request or a share."""

    kind: Owner
    owner_id: str
    site: str
    action: Action  # the audited action: redacting for a subject request, or a share

    @property
    def target(self) -> str:
        return f"{self.kind.value}:{self.owner_id}"


class Redactions:
    def __init__(
        self,
        book: SubjectRequestBook,
        index: ClipIndex,
        objects: ClipObjects,
        audit: AuditLog,
        queue: WorkQueue,
        thumbnail_ttl: timedelta,
    ) -> None:
        self._book = book
        self._index = index
        self._objects = objects
        self._audit = audit
        self._queue = queue
        self._thumbnail_ttl = thumbnail_ttl

    def start(self, principal: Principal, request_id: str, new: NewRedaction, now: datetime) -> Redaction:
        """Queue the redaction function on one of a subject request's matching clips' excerpt."""
        request = self._request(principal, request_id)
        if request.status != RequestStatus.OPEN:
            raise Conflict(f"request {request_id} is closed")
        clip = covered_clip(self._index, request, new.clip_id)
        return self.start_for(principal, self._owner(request), clip, new, now)

    def view(self, principal: Principal, request_id: str, redaction_id: str, now: datetime) -> RedactionView:
        return self.view_of(principal, self._owner(self._request(principal, request_id)), redaction_id, now)

    def review(
        self, principal: Principal, request_id: str, redaction_id: str, review: Review, now: datetime
    ) -> Redaction:
        owner = self._owner(self._request(principal, request_id))
        return self.review_of(principal, owner, redaction_id, review, now)

    def start_for(
        self, principal: Principal, owner: RedactionOwner, clip: ClipRecord, new: NewRedaction, now: datetime
    ) -> Redaction:
        """Queue the redaction function on a clip's excerpt, for an owner the caller may redact for."""
        if clip.video is not None and new.end_s > clip.video.duration_s + 0.001:
            raise InvalidRequest(f"end_s {new.end_s} is past the clip's end ({clip.video.duration_s:.3f} s)")
        redaction = Redaction(
            redaction_id=str(ULID.from_datetime(now)),
            owner=owner.kind,
            request_id=owner.owner_id,
            site=owner.site,
            clip_id=clip.clip_id,
            start_s=new.start_s,
            end_s=new.end_s,
            status=RedactionStatus.PENDING,
            requested_by=principal.id,
            requested_at=now,
            stills_at_s=new.stills_at_s if isinstance(new, NewShareRedaction) else (),
        )
        self._book.add_redaction(redaction)
        self._queue.send(RedactionMessage(request_id=owner.owner_id, redaction_id=redaction.redaction_id).model_dump())
        self._record(principal, owner, now, f"redaction {redaction.redaction_id} of clip:{clip.clip_id} queued")
        return redaction

    def view_of(self, principal: Principal, owner: RedactionOwner, redaction_id: str, now: datetime) -> RedactionView:
        """The redaction, each found track with a short-lived link to its thumbnails (footage: audited)."""
        redaction = self.redaction_of(owner, redaction_id)
        ttl = self._thumbnail_ttl
        tracks = tuple(
            ReviewedTrack(
                **track.model_dump(),
                thumbnails_url=self._objects.view_url(
                    thumbnails_key(redaction.site, owner.owner_id, redaction_id, track.track_id), None, ttl
                ),
            )
            for track in redaction.tracks
        )
        if tracks:
            self._record(principal, owner, now, f"redaction {redaction_id}: {len(tracks)} thumbnail strips shown")
        return RedactionView(
            **redaction.model_dump(exclude={"tracks"}), tracks=tracks, urls_expire_at=now + ttl if tracks else None
        )

    def review_of(
        self, principal: Principal, owner: RedactionOwner, redaction_id: str, review: Review, now: datetime
    ) -> Redaction:
        """Record the dpo's decisions (audited, each track named): what is masked, kept, and the requester's."""
        redaction = self.redaction_of(owner, redaction_id)
        if redaction.status not in (RedactionStatus.FOUND, RedactionStatus.REVIEWED):
            raise Conflict(f"redaction {redaction_id} is {redaction.status}: there are no tracks to review")
        found = {track.track_id for track in redaction.tracks}
        unknown = sorted(set(review.keep) - found)
        if unknown:
            raise InvalidRequest(f"no such tracks in redaction {redaction_id}: {', '.join(unknown[:5])}")
        for box in review.manual:
            if not (redaction.start_s <= box.first_s and box.last_s <= redaction.end_s):
                raise InvalidRequest(f"a manual box at {box.first_s}-{box.last_s} s lies outside the redaction")
        if review.requester_track is not None and review.requester_track not in found:
            raise InvalidRequest(f"no such track in redaction {redaction_id}: {review.requester_track}")
        marked = review.requester is not None or review.requester_track is not None
        own = self._requester(redaction, review) if marked else set()
        kept = set() if review.audience == Audience.PUBLIC else set(review.keep) | own
        record = ReviewRecord(
            audience=review.audience,
            kept=tuple(sorted(set(review.keep))),
            requester_tracks=tuple(sorted(own)),
            masked=tuple(sorted(found - kept)),
            manual=review.manual,
            reviewed_by=principal.id,
            reviewed_at=now,
        )
        reviewed = self._book.review_redaction(owner.owner_id, redaction_id, record)
        self._record(
            principal,
            owner,
            now,
            f"redaction {redaction_id} reviewed for {review.audience}: masked {len(record.masked)} "
            f"[{' '.join(record.masked)}], kept [{' '.join(record.kept)}], requester "
            f"[{' '.join(record.requester_tracks)}], {len(record.manual)} manual boxes",
        )
        return reviewed

    def redaction_of(self, owner: RedactionOwner, redaction_id: str) -> Redaction:
        """One of the owner's redactions; another owner's is not found, whatever its id."""
        redaction = self._book.get_redaction(owner.owner_id, redaction_id)
        if redaction is None or redaction.owner != owner.kind:
            raise NotFound(f"redaction {redaction_id} not found")
        return redaction

    def _requester(self, redaction: Redaction, review: Review) -> set[str]:
        """The track under the reviewer's click (or the one picked), with those that go with it (their face,
        their moving region)."""
        data = self._objects.read_bytes(tracks_key(redaction.site, redaction.request_id, redaction.redaction_id))
        if data is None:
            raise Conflict(f"redaction {redaction.redaction_id}'s tracks are gone")
        tracks = TracksFile.from_json(data)
        if review.requester_track is not None:
            return requester_tracks(tracks.tracks, [review.requester_track])
        mark = review.requester
        assert mark is not None
        if not redaction.start_s <= mark.at_s < redaction.end_s:
            raise InvalidRequest(f"the requester is marked at {mark.at_s} s, outside the redaction")
        hit = tracks_at(tracks.tracks, tracks.frame_at(mark.at_s), mark.x, mark.y)
        if not hit:
            raise InvalidRequest("no track at the requester's mark: click inside their box, or pick their track")
        return requester_tracks(tracks.tracks, hit[:1])

    def _request(self, principal: Principal, request_id: str) -> SubjectRequest:
        found = self._book.get(request_id)
        return authorize_addressed(
            principal, Action.REDACT_FOOTAGE, found, lambda r: r.site, f"subject_request:{request_id}"
        )

    @staticmethod
    def _owner(request: SubjectRequest) -> RedactionOwner:
        return RedactionOwner(Owner.SUBJECT_REQUEST, request.request_id, request.site, Action.REDACT_FOOTAGE)

    def _record(self, principal: Principal, owner: RedactionOwner, now: datetime, what: str) -> None:
        self._audit.record(principal, owner.action, owner.site, f"{owner.target} {what}", Outcome.ALLOWED, now)
