"""Gaps: footage a gateway dropped at the edge (full spool, too old, corrupt) or could not upload (refused by
the archive), so officials see why it is missing."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from chalicelib.domain.clips import CAMERA_ID_PATTERN, UtcTime
from chalicelib.domain.text import PlainText
from chalicelib.model import Model


class DropReason(StrEnum):
    QUOTA = "quota"
    TOO_OLD = "too_old"
    CORRUPT = "corrupt"
    # The archive refused the clip for good: it waits in the gateway's failed/ folder for a person.
    REFUSED = "refused"


DETAIL = "what the gateway knows of why (for `refused`: the archive's last answer)"


class Drop(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)
    start: UtcTime
    end: UtcTime
    reason: DropReason
    detail: PlainText | None = Field(default=None, max_length=300, description=DETAIL)

    @model_validator(mode="after")
    def _forwards(self) -> Drop:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class DropReport(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    drops: tuple[Drop, ...] = Field(min_length=1, max_length=100)


class Gap(Model):
    model_config = ConfigDict(frozen=True)

    camera_id: str
    site: str
    start: UtcTime
    end: UtcTime
    reason: DropReason
    detail: str | None = Field(default=None, description=DETAIL)
    gateway_id: str
    reported_at: UtcTime
