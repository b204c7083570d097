"""Automatic redaction of an excerpt: the tracks the redaction function found, and the dpo's review of them.

A redaction belongs to one clip's excerpt and to its owner: a subject request (the requester's own footage) or
a share the dpo chose to redact (police, press). The redaction function finds the tracks (faces, people,
plates, whatever moves); the dpo reviews them (mask or keep each, mark the requester, add boxes) and only a
reviewed redaction can be exported or shared. Plain values: no AWS, no numpy.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from chalicelib.domain.clips import UtcTime
from chalicelib.model import Model

MAX_SPAN_S = 120.0  # as ExportLimits.max_excerpt_s: one redaction covers what one export may ask for
MAX_MANUAL_BOXES = 50
MAX_TRACK_IDS = 500
MAX_PIXELS = 16384  # beyond any frame a clip may have (media limits refuse larger): DynamoDB stores it as given
MAX_SECONDS = 86400.0


class NewRedaction(Model):
    """Find what to mask in one matching clip's excerpt."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip_id: str = Field(min_length=1, max_length=64)
    start_s: float = Field(ge=0, le=MAX_SECONDS, description="seconds from the clip's first frame")
    end_s: float = Field(gt=0, le=MAX_SECONDS)

    @model_validator(mode="after")
    def _span(self) -> NewRedaction:
        if self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        if self.end_s - self.start_s > MAX_SPAN_S:
            raise ValueError(f"a redaction spans at most {MAX_SPAN_S:.0f} s")
        return self


class NewShareRedaction(NewRedaction):
    """Redact one of a share's clips: the share then delivers this masked excerpt and these stills only."""

    stills_at_s: tuple[float, ...] = Field(
        default=(), max_length=20, description="stills delivered with the excerpt, in seconds within it"
    )

    @model_validator(mode="after")
    def _stills_within(self) -> NewShareRedaction:
        if any(not self.start_s <= at_s <= self.end_s for at_s in self.stills_at_s):
            raise ValueError("stills_at_s must lie within start_s..end_s")
        return self


class Owner(StrEnum):
    """What a redaction (and the export made from it) is for."""

    SUBJECT_REQUEST = "subject_request"
    SHARE = "share"


class RedactionStatus(StrEnum):
    PENDING = "pending"  # queued for the redaction function
    FOUND = "found"  # tracks found, awaiting review
    REVIEWED = "reviewed"
    FAILED = "failed"


class Audience(StrEnum):
    """Who the redacted footage goes to, which decides what stays visible."""

    SUBJECT = "subject"  # the requester (Art. 15): their own tracks visible, the rest masked unless kept
    POLICE = "police"  # a redacted share: masked as the dpo decided, no requester
    PUBLIC = "public"  # the press, the public: everyone masked, whatever was kept


SHARE_AUDIENCES = frozenset({Audience.POLICE, Audience.PUBLIC})  # a share has no requester to leave visible


class TrackSummary(Model):
    """One track as the reviewer sees it (its boxes frame by frame are in the redaction's tracks file)."""

    model_config = ConfigDict(frozen=True)

    track_id: str
    kind: str = Field(description="face, person, plate, or moving (anything that moved)")
    first_s: float = Field(description="seconds from the clip's first frame")
    last_s: float
    frames: int = Field(description="frames in which it is masked unless kept")
    detections: int
    score: float


class RequesterMark(Model):
    """The reviewer's click on the requester: a point in one frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_s: float = Field(ge=0, le=MAX_SECONDS, description="seconds from the clip's first frame")
    x: float = Field(ge=0, le=MAX_PIXELS)
    y: float = Field(ge=0, le=MAX_PIXELS)


class ManualBoxSpec(Model):
    """A box the reviewer adds, masked from first_s to last_s whatever else is decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    first_s: float = Field(ge=0, le=MAX_SECONDS)
    last_s: float = Field(ge=0, le=MAX_SECONDS)
    x: int = Field(ge=0, le=MAX_PIXELS)
    y: int = Field(ge=0, le=MAX_PIXELS)
    width: int = Field(gt=0, le=MAX_PIXELS)
    height: int = Field(gt=0, le=MAX_PIXELS)

    @model_validator(mode="after")
    def _span(self) -> ManualBoxSpec:
        if self.last_s < self.first_s:
            raise ValueError("last_s must not be before first_s")
        return self


class Review(Model):
    """The dpo's decisions: every track is masked unless listed in `keep` or the requester's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: Audience
    keep: tuple[str, ...] = Field(default=(), max_length=MAX_TRACK_IDS, description="tracks left visible")
    requester: RequesterMark | None = Field(default=None, description="subject audience: a click on the requester")
    requester_track: str | None = Field(
        default=None, max_length=64, description="subject audience: or the requester's track, picked from the list"
    )
    manual: tuple[ManualBoxSpec, ...] = Field(default=(), max_length=MAX_MANUAL_BOXES)

    @model_validator(mode="after")
    def _fits_audience(self) -> Review:
        marked = self.requester is not None or self.requester_track is not None
        if self.requester is not None and self.requester_track is not None:
            raise ValueError("mark the requester once: a click or a track, not both")
        if self.audience != Audience.SUBJECT and marked:
            raise ValueError("only a subject-access redaction leaves a requester visible")
        if self.audience == Audience.PUBLIC and self.keep:
            raise ValueError("a public release masks everyone: keep nothing")
        return self


class ReviewRecord(Model):
    """A review as stored: the decisions, the requester's tracks they resolved to, who and when."""

    model_config = ConfigDict(frozen=True)

    audience: Audience
    kept: tuple[str, ...] = ()
    requester_tracks: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()
    manual: tuple[ManualBoxSpec, ...] = ()
    reviewed_by: str
    reviewed_at: UtcTime


class Redaction(Model):
    model_config = ConfigDict(frozen=True)

    redaction_id: str
    owner: Owner = Owner.SUBJECT_REQUEST
    request_id: str = Field(description="its owner's id: the subject request's, or the share's")
    site: str
    clip_id: str
    start_s: float
    end_s: float
    status: RedactionStatus
    requested_by: str
    requested_at: UtcTime
    found_at: UtcTime | None = None
    frames: int | None = None
    width: int | None = None
    height: int | None = None
    tracks: tuple[TrackSummary, ...] = ()
    review: ReviewRecord | None = None
    failure: str | None = None
    stills_at_s: tuple[float, ...] = Field(default=(), description="a share's: the stills it delivers")


def redaction_prefix(site: str, request_id: str, redaction_id: str) -> str:
    """Where its tracks file and thumbnail strips live: under exports/, so they go with its owner's exports."""
    return f"exports/{site}/{request_id}/redactions/{redaction_id}/"


def tracks_key(site: str, request_id: str, redaction_id: str) -> str:
    return f"{redaction_prefix(site, request_id, redaction_id)}tracks.json"


def thumbnails_key(site: str, request_id: str, redaction_id: str, track_id: str) -> str:
    return f"{redaction_prefix(site, request_id, redaction_id)}thumbnails/{track_id}.jpg"
