"""Sites (tenants), their cameras and their gateways."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator

from chalicelib.domain.clips import CAMERA_ID_PATTERN, Stills, UtcTime
from chalicelib.domain.text import PlainText, Statement
from chalicelib.domain.timeutil import parse_time
from chalicelib.model import Model

SITE_ID_PATTERN = r"^[a-z][a-z0-9-]{1,30}$"
_GATEWAY_ID = re.compile(r"^gw-[a-z0-9-]{1,60}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


class Site(Model):
    """A municipality running cameras: the data controller of its footage."""

    model_config = ConfigDict(frozen=True)

    site_id: str = Field(pattern=SITE_ID_PATTERN)
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    timezone: str
    retention_days: int = Field(ge=1)
    retention_justification: str = ""
    retention_changed_at: UtcTime | None = None
    retention_changed_by: str | None = None
    max_retention_days: int = Field(ge=1, description="the legal maximum, from legal_basis")
    max_hold_days: int = Field(default=1095, ge=1, description="the longest a case may hold footage before review")
    sealing_recipient: str | None = Field(default=None, description="the age public key gateways seal clips to")
    sealing_key_id: str | None = Field(default=None, description="the id of the key pair gateways seal to now")
    legal_basis: str
    controller: str
    dpo_contact: str


class SiteConfiguration(Model):
    """A site as its deployment configures it (a reviewed file, `safe-society-admin sites apply`): the legal
    limits and their basis are configuration, never literals in code. The retention policy in force is the
    DPO's (PUT /sites/{site}/retention); the initial one applies only when the site is created."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PlainText = Field(min_length=1, max_length=120)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    timezone: str = Field(min_length=3, max_length=64, description="IANA zone, e.g. Europe/Riga")
    max_retention_days: int = Field(ge=1, le=3660, description="the legal maximum, from legal_basis")
    max_hold_days: int = Field(ge=1, le=3660, description="the longest a case may hold footage before review")
    legal_basis: Statement = Field(min_length=10, max_length=2000, description="the law or order the limits come from")
    controller: PlainText = Field(min_length=3, max_length=300)
    dpo_contact: PlainText = Field(min_length=3, max_length=300)
    initial_retention_days: int = Field(ge=1, description="the retention policy when the site is created")
    initial_retention_justification: Statement = Field(default="", max_length=2000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{zone!r} is not an IANA time zone") from error
        return zone


class CameraStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class NewCamera(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)
    name: PlainText = Field(min_length=1, max_length=120)
    location: PlainText = Field(min_length=1, max_length=300)


class Camera(Model):
    model_config = ConfigDict(frozen=True)

    camera_id: str
    site_id: str
    name: str
    location: str
    status: CameraStatus = CameraStatus.ACTIVE
    created_at: UtcTime
    last_clip_at: UtcTime | None = None
    latest_clip_id: str | None = None
    # The latest clip's stills (a storage key and their layout): read by the wall to sign its URL, never part
    # of an answer.
    latest_poster_key: str | None = Field(default=None, exclude=True)
    latest_stills: Stills | None = Field(default=None, exclude=True)


class NewGateway(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site_id: str = Field(pattern=SITE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=120)
    camera_ids: tuple[str, ...] = Field(min_length=1, max_length=256)


class Gateway(Model):
    """An edge box; its secret is stored only as a hash."""

    model_config = ConfigDict(frozen=True)

    gateway_id: str
    site_id: str
    name: str
    camera_ids: tuple[str, ...]
    secret_sha256: str
    created_at: UtcTime
    created_by: str
    revoked_at: UtcTime | None = None
    revoked_by: str | None = None
    last_seen_at: UtcTime | None = None
    last_heartbeat: dict[str, Any] | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def new_gateway_secret() -> tuple[str, str]:
    """A random secret and the hash that is stored: 256 bits need no slow hash to resist guessing."""
    secret = secrets.token_urlsafe(32)
    return secret, secret_hash(secret)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)


def gateway_token(gateway_id: str, secret: str) -> str:
    """What a gateway sends as `Authorization: Bearer <token>`."""
    return f"{gateway_id}.{secret}"


def new_gateway_id(site_id: str) -> str:
    return f"gw-{site_id}-{secrets.token_hex(4)}"


def split_gateway_token(token: str) -> tuple[str, str] | None:
    gateway_id, dot, secret = token.partition(".")
    if not dot or not _GATEWAY_ID.fullmatch(gateway_id) or not _SECRET.fullmatch(secret):
        return None
    return gateway_id, secret


def silent_cameras(
    gateway: Gateway, last_clip_at: dict[str, datetime | None], now: datetime, after: timedelta, clock_skew: timedelta
) -> list[str]:
    """Cameras of the gateway with nothing heard for `after`: neither a segment in its heartbeat nor a clip."""
    silent = []
    for camera_id in gateway.camera_ids:
        heard = [last_clip_at.get(camera_id), reported_segment_at(gateway, camera_id, clock_skew)]
        latest = max((moment for moment in heard if moment is not None), default=None)
        if is_silent(latest, now, after):
            silent.append(camera_id)
    return silent


def reported_segment_at(gateway: Gateway, camera_id: str, clock_skew: timedelta) -> datetime | None:
    """The camera's last segment as the gateway's last heartbeat reports it, if it could be true: a segment
    ending after that heartbeat arrived (beyond the clock skew the archive allows a clip's end) was not
    recorded yet, whatever a faulty box or an old agent's state says, and would hide that the camera is silent."""
    segment = (gateway.last_heartbeat or {}).get("cameras", {}).get(camera_id, {}).get("last_segment_at")
    if not segment or gateway.last_seen_at is None:  # last_seen_at: when that heartbeat arrived
        return None
    at = parse_time(segment)
    return at if at <= gateway.last_seen_at + clock_skew else None


def is_silent(last_heard: datetime | None, now: datetime, after: timedelta) -> bool:
    """Nothing heard from a camera, or nothing for longer than `after`."""
    return last_heard is None or now - last_heard > after
