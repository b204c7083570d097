"""Right of access (GDPR Art. 15, 12(3)): requests, their deadlines, and masked exports of footage."""

from __future__ import annotations

import calendar
import re
from datetime import date
from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from chalicelib.domain.catalog import SITE_ID_PATTERN
from chalicelib.domain.clips import CAMERA_ID_PATTERN, UtcTime
from chalicelib.domain.query import MAX_WINDOW
from chalicelib.domain.redaction import Owner
from chalicelib.domain.text import Statement
from chalicelib.model import Model

_CAMERA_ID = re.compile(CAMERA_ID_PATTERN)
ANSWER_MONTHS = 1  # Art. 12(3): without undue delay and in any event within one month of receipt
EXTENDED_MONTHS = 3  # ... which may be extended by two further months


def add_months(day: date, months: int) -> date:
    """The same day `months` later; where that month is shorter, its last day (Regulation 1182/71 Art. 3(2)(c))."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class RequestStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class NewSubjectRequest(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site_id: str = Field(pattern=SITE_ID_PATTERN)
    camera_ids: tuple[str, ...] = Field(min_length=1, max_length=20)
    start: UtcTime
    end: UtcTime
    received: date = Field(description="the day the request reached the controller")
    description: Statement = Field(
        min_length=3, max_length=500, description="how to recognise the requester in the footage; no needless detail"
    )

    @model_validator(mode="after")
    def _window(self) -> NewSubjectRequest:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_WINDOW:
            raise ValueError(f"a window may span at most {MAX_WINDOW.days} days")
        for camera_id in self.camera_ids:
            if not _CAMERA_ID.fullmatch(camera_id):
                raise ValueError(f"camera_id {camera_id!r} is not a camera id")
        return self


class SubjectRequest(Model):
    model_config = ConfigDict(frozen=True)

    request_id: str
    site: str
    camera_ids: tuple[str, ...]
    start: UtcTime
    end: UtcTime
    received: date
    deadline: date
    extended: bool = False
    extension_reason: str | None = None
    description: str
    status: RequestStatus
    created_by: str
    created_at: UtcTime
    closed_by: str | None = None
    closed_at: UtcTime | None = None
    outcome: str | None = None

    def is_overdue(self, today: date) -> bool:
        return self.status == RequestStatus.OPEN and today > self.deadline


def deadline_for(received: date) -> date:
    return add_months(received, ANSWER_MONTHS)


def extended_deadline(received: date) -> date:
    return add_months(received, EXTENDED_MONTHS)


class Extension(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Statement = Field(min_length=5, max_length=1000, description="why: complexity or number of requests")


class Closing(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Statement = Field(min_length=3, max_length=1000)


class MaskBox(Model):
    """A rectangle to mask, in the source video's pixels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)


class Excerpt(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)


class ExportRequest(Model):
    """What to give the requester from one clip: stills and/or an excerpt, with other people masked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip_id: str = Field(min_length=1, max_length=64)
    redaction_id: str | None = Field(
        default=None, max_length=64, description="the reviewed redaction of this clip whose decisions are applied"
    )
    stills_at_s: tuple[float, ...] = Field(default=(), max_length=20)
    excerpt: Excerpt | None = None
    boxes: tuple[MaskBox, ...] = Field(
        default=(), max_length=50, description="boxes masked over the whole excerpt on top of the redaction's"
    )

    @model_validator(mode="after")
    def _something(self) -> ExportRequest:
        if not self.stills_at_s and self.excerpt is None:
            raise ValueError("ask for stills_at_s, an excerpt, or both")
        return self


class ExportStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


class ExportView(Model):
    """An export as the dpo sees it: no storage key."""

    model_config = ConfigDict(frozen=True)

    export_id: str
    owner: Owner = Owner.SUBJECT_REQUEST
    request_id: str = Field(description="its owner's id: the subject request's, or the share's")
    site: str
    clip_id: str
    request: ExportRequest
    status: ExportStatus
    requested_by: str
    requested_at: UtcTime
    ready_at: UtcTime | None = None
    expires_at: UtcTime | None = Field(default=None, description="deleted then; a share's export: with the share")
    sha256: str | None = None
    manifest: dict[str, object] | None = None
    failure: str | None = None


class Export(ExportView):
    object_key: str | None = None


def export_key(site: str, request_id: str, export_id: str) -> str:
    return f"exports/{site}/{request_id}/{export_id}.zip"
