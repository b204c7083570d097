"""Clip registration rules, identity, object keys and the clip record."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from ulid import ULID

from chalicelib.domain.timeutil import iso, parse_time
from chalicelib.errors import InvalidRequest, NotYet

CLOCK_CORRECTION = "seconds the gateway moved the recording's times back: its source's clock ran ahead of the archive's"
CLOCK_CORRECTION_LIMIT_S = 366 * 86400
CAMERA_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SEALED_KEY = re.compile(
    r"^sealed/(?P<site>[a-z0-9-]+)/(?P<camera>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/(?P<clip>[0-9A-Z]{26})\.mp4\.age$"
)
_CLIP_KEY = re.compile(
    r"^clips/(?P<site>[a-z0-9-]+)/(?P<camera>[a-z0-9-]+)/\d{4}/\d{2}/\d{2}/(?P<clip>[0-9A-Z]{26})\.mp4$"
)


def _utc(moment: datetime) -> datetime:
    """UTC, cut to the millisecond the index stores: a retried registration must compare equal."""
    utc = parse_time(moment.isoformat())
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


# Serialized fixed-width (see timeutil.iso) so stored times sort correctly as text.
UtcTime = Annotated[datetime, AfterValidator(_utc), PlainSerializer(iso, return_type=str, when_used="json")]


class ClipStatus(StrEnum):
    REGISTERED = "registered"
    UPLOADED = "uploaded"
    INDEXED = "indexed"
    QUARANTINED = "quarantined"
    EXPIRED = "expired"
    ERASED = "erased"


class SealedFile(BaseModel):
    """The clip as the gateway sealed it to the site's public key (age format): what is actually uploaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(gt=0)
    sha256: str = Field(pattern=SHA256_PATTERN)


class Registration(BaseModel):
    """What a gateway says about a clip before uploading it; `size` and `sha256` are of the plaintext."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN)
    start: UtcTime
    end: UtcTime
    size: int = Field(gt=0)
    sha256: str = Field(pattern=SHA256_PATTERN, description="hex sha256 of the clip's bytes")
    sealed: SealedFile | None = Field(default=None, description="present when the gateway uploads the clip sealed")
    clock_correction_s: float | None = Field(
        default=None, ge=0, le=CLOCK_CORRECTION_LIMIT_S, description=CLOCK_CORRECTION
    )


@dataclass(frozen=True)
class RegistrationLimits:
    clock_skew: timedelta
    max_duration: timedelta
    max_bytes: int


def check_registration(registration: Registration, now: datetime, limits: RegistrationLimits) -> None:
    """Refuse times and sizes no camera could have produced."""
    if registration.end <= registration.start:
        raise InvalidRequest("end must be after start")
    if registration.end - registration.start > limits.max_duration:
        raise InvalidRequest(f"a clip may last at most {int(limits.max_duration.total_seconds())} s")
    if registration.end > now + limits.clock_skew:
        raise NotYet(f"end {iso(registration.end)} is in the future (server time {iso(now)})")
    if registration.size > limits.max_bytes:
        raise InvalidRequest(f"a clip may be at most {limits.max_bytes} bytes")


def clip_id_for(site: str, registration: Registration) -> str:
    """A ULID sorted by the clip's start, derived from what identifies the recording.

    The same registration always yields the same id, so a gateway retrying after a lost
    answer gets its clip back instead of a duplicate.
    """
    start_ms = int(registration.start.timestamp() * 1000)
    identity = f"{site}|{registration.camera_id}|{iso(registration.start)}|{registration.sha256}"
    tail = hashlib.sha256(identity.encode()).digest()[:10]
    return str(ULID.from_bytes(start_ms.to_bytes(6, "big") + tail))


def object_key(site: str, camera_id: str, start: datetime, clip_id: str) -> str:
    return f"clips/{site}/{camera_id}/{start:%Y/%m/%d}/{clip_id}.mp4"


def sealed_key(site: str, camera_id: str, start: datetime, clip_id: str) -> str:
    """Where a sealed upload lands: outside clips/, so only its unsealed plaintext counts as footage."""
    return f"sealed/{site}/{camera_id}/{start:%Y/%m/%d}/{clip_id}.mp4.age"


def clip_id_from_key(key: str) -> str | None:
    """The clip id an uploaded object's key names, or None for a key the archive did not issue."""
    match = _CLIP_KEY.fullmatch(key) or _SEALED_KEY.fullmatch(key)
    return match.group("clip") if match else None


def is_sealed_key(key: str) -> bool:
    return _SEALED_KEY.fullmatch(key) is not None


def thumbnail_prefix(site: str, camera_id: str, clip_id: str) -> str:
    return f"thumbnails/{site}/{camera_id}/{clip_id}/"


def retain_until(start: datetime, retention_days: int) -> datetime:
    """Storage limitation (GDPR Art. 5(1)(e)): footage lives `retention_days` from its recording."""
    return start + timedelta(days=retention_days)


class VideoFacts(BaseModel):
    """What probing the stored video found."""

    model_config = ConfigDict(frozen=True)

    codec: str
    width: int
    height: int
    fps: float
    duration_s: float


class ClipRecord(BaseModel):
    """A clip's index record as officials see it: no storage keys, no gateway."""

    model_config = ConfigDict(frozen=True)

    clip_id: str
    site: str
    camera_id: str
    start: UtcTime
    end: UtcTime
    size: int
    sha256: str
    status: ClipStatus
    retain_until: UtcTime
    registered_at: UtcTime
    video: VideoFacts | None = None
    quarantine_reason: str | None = None
    clock_correction_s: float | None = Field(default=None, description=CLOCK_CORRECTION)
    ingested_at: UtcTime | None = None
    expired_at: UtcTime | None = None
    erased_at: UtcTime | None = None
    erased_by: str | None = None
    erasure_reason: str | None = None
    holds: frozenset[str] = Field(default=frozenset(), description="ids of the cases that hold the clip")


class Clip(ClipRecord):
    """The index record of one clip."""

    gateway_id: str
    object_key: str
    object_version: str | None = None
    sealed: SealedFile | None = None
    multipart_upload_id: str | None = None
    thumbnail_keys: tuple[str, ...] = ()

    def same_registration(self, registration: Registration) -> bool:
        return (
            self.camera_id == registration.camera_id
            and self.start == registration.start
            and self.end == registration.end
            and self.size == registration.size
            and self.sha256 == registration.sha256
        )

    @property
    def upload_key(self) -> str:
        """Where the gateway's bytes land: the sealed file's key, or the clip's own."""
        if self.sealed is None:
            return self.object_key
        return sealed_key(self.site, self.camera_id, self.start, self.clip_id)

    @property
    def upload_size(self) -> int:
        return self.sealed.size if self.sealed else self.size

    @property
    def upload_sha256(self) -> str:
        return self.sealed.sha256 if self.sealed else self.sha256

    @property
    def received(self) -> bool:
        """The archive holds the bytes (or has judged them): the gateway may delete its copy."""
        return self.status in (ClipStatus.UPLOADED, ClipStatus.INDEXED, ClipStatus.QUARANTINED)

    @property
    def registered_seconds(self) -> float:
        return (self.end - self.start).total_seconds()
