"""Cases: legal holds that keep footage past its retention, for a reason, until a review date."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from chalicelib.domain.catalog import SITE_ID_PATTERN, Site
from chalicelib.domain.clips import CAMERA_ID_PATTERN, UtcTime
from chalicelib.domain.text import PlainText, Statement
from chalicelib.errors import InvalidRequest
from chalicelib.model import Model

MAX_CLIPS_PER_REQUEST = 500


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class NewCase(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site_id: str = Field(pattern=SITE_ID_PATTERN)
    reference: PlainText = Field(min_length=1, max_length=100, description="the police or court case reference")
    reason: Statement = Field(min_length=5, max_length=1000)
    review_date: UtcTime | None = Field(default=None, description="when the hold must be reviewed")


class Case(Model):
    model_config = ConfigDict(frozen=True)

    case_id: str
    site: str
    reference: str
    reason: str
    status: CaseStatus
    opened_by: str
    opened_at: UtcTime
    review_date: UtcTime
    closed_by: str | None = None
    closed_at: UtcTime | None = None


class HoldRequest(Model):
    """Hold clips by id, or every clip of a camera in a time window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip_ids: tuple[str, ...] = Field(default=(), max_length=MAX_CLIPS_PER_REQUEST)
    camera_id: str | None = Field(default=None, pattern=CAMERA_ID_PATTERN)
    start: UtcTime | None = None
    end: UtcTime | None = None

    @model_validator(mode="after")
    def _one_way(self) -> HoldRequest:
        by_window = self.camera_id is not None or self.start is not None or self.end is not None
        if bool(self.clip_ids) == by_window:
            raise ValueError("give either clip_ids, or camera_id with start and end")
        if by_window and (self.camera_id is None or self.start is None or self.end is None):
            raise ValueError("a window needs camera_id, start and end")
        return self


def review_date_for(new: NewCase, site: Site, now: datetime) -> datetime:
    """A hold is not forever: the review date defaults to, and may not pass, the site's maximum hold."""
    latest = now + timedelta(days=site.max_hold_days)
    if new.review_date is None:
        return latest
    if new.review_date <= now:
        raise InvalidRequest("the review date must be in the future")
    if new.review_date > latest:
        raise InvalidRequest(f"{site.name} may hold footage at most {site.max_hold_days} days before a review")
    return new.review_date
