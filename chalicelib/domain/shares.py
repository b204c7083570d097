"""Disclosure to police and prosecutors (Directive 2016/680 Art. 25): requested with a case, approved by a
second person, short-lived, revocable, every use logged."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field

from chalicelib.domain.clips import UtcTime
from chalicelib.domain.text import PlainText, Statement
from chalicelib.errors import InvalidRequest
from chalicelib.model import Model

MAX_SHARE_LIFETIME = timedelta(days=7)


class ShareStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REVOKED = "revoked"


class NewShare(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str = Field(min_length=1, max_length=64)
    clip_ids: tuple[str, ...] = Field(min_length=1, max_length=100)
    recipient: PlainText = Field(min_length=3, max_length=300, description="who receives it: authority, unit, person")
    purpose: Statement = Field(min_length=5, max_length=1000)
    expires_at: UtcTime


class ShareView(Model):
    """A share as officials see it: everything but its link's hash."""

    model_config = ConfigDict(frozen=True)

    share_id: str
    site: str
    case_id: str
    case_reference: str
    clip_ids: tuple[str, ...]
    recipient: str
    purpose: str
    expires_at: UtcTime
    status: ShareStatus
    requested_by: str
    requested_at: UtcTime
    approved_by: str | None = None
    approved_at: UtcTime | None = None
    revoked_by: str | None = None
    revoked_at: UtcTime | None = None
    redaction_id: str | None = Field(
        default=None,
        description="a redacted share's redaction (chosen by the dpo): the share delivers its masked excerpt only, "
        "never the clips, and is approved only once the redaction is reviewed",
    )
    export_id: str | None = Field(default=None, description="a redacted share's export, made when it is approved")


class Share(ShareView):
    token_sha256: str | None = None


def check_expiry(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise InvalidRequest("the share must expire in the future")
    if expires_at - now > MAX_SHARE_LIFETIME:
        raise InvalidRequest(f"a share may last at most {MAX_SHARE_LIFETIME.days} days")


def new_share_token() -> tuple[str, str]:
    """The recipient's token and the hash that is stored (256 random bits: a plain hash suffices)."""
    token = secrets.token_urlsafe(32)
    return token, share_token_hash(token)


def share_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
