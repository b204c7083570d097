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
    if registration.sealed is not None:
        # What is uploaded is bounded by the clip it seals, so the size cap holds for sealed uploads too.
        low, high = sealed_size_range(registration.size)
        if not low <= registration.sealed.size <= high:
            raise InvalidRequest(
                f"an age file of a {registration.size}-byte clip has {low} to {high} bytes, "
                f"not {registration.sealed.size}"
            )


# The age format (age-encryption.org/v1): a text header of recipient stanzas, a 16-byte nonce, then the
# plaintext in 64 KiB chunks, each with a 16-byte tag (an empty plaintext is one empty chunk). One X25519
# stanza makes a 168-byte header; 1 KiB leaves room for a few recipients, and bounds what a gateway may send.
AGE_CHUNK = 64 * 1024
AGE_TAG = 16
AGE_NONCE = 16
AGE_HEADER_MAX = 1024


def sealed_size_range(size: int) -> tuple[int, int]:
    """The least and the most bytes an age file of a `size`-byte plaintext can have."""
    least = size + AGE_NONCE + AGE_TAG * max(1, -(-size // AGE_CHUNK))
    return least, least + AGE_HEADER_MAX


@dataclass(frozen=True)
class UploadUrlPolicy:
    """How long an upload URL lives: only as long as an upload needs, so a URL kept cannot bring footage back
    after the clip is gone (ingest deletes such an upload anyway) and a leaked one is soon worthless.

    S3 checks a URL's expiry when a request begins, not when its body ends: a URL must last until its upload
    starts. The gateway asks just before it uploads; the parts of a multipart upload start one after
    another, so each part's URL lasts as long as the parts before it take at the slowest uplink planned for.
    """

    start_within: timedelta
    min_bytes_per_s: int
    maximum: timedelta

    def ttl(self, bytes_before: int, retain_until: datetime, now: datetime) -> timedelta | None:
        """The lifetime of a URL whose upload follows `bytes_before` bytes; None once retention is over."""
        if retain_until <= now:
            return None
        wanted = self.start_within + timedelta(seconds=bytes_before / self.min_bytes_per_s)
        # Whole seconds (what a presigned URL carries), at least one.
        return timedelta(seconds=max(1, int(min(wanted, self.maximum, retain_until - now).total_seconds())))


def clip_id_for(site: str, registration: Registration) -> str:
    """A ULID sorted by the clip's start, derived from what identifies the recording.

    The same registration always yields the same id, so a gateway retrying after a lost
    answer gets its clip back instead of a duplicate.
    """
    start_ms = int(registration.start.timestamp() * 1000)
    identity = f"{site}|{registration.camera_id}|{iso(registration.start)}|{registration.sha256}"
    tail = hashlib.sha256(identity.encode()).digest()[:10]
    return str(ULID.from_bytes(start_ms.to_bytes(6, "big") + tail))


def object_key(site: str, camera_id: str, start: datetime, clip_id: str, *, sealed: bool = False) -> str:
    """Where the playable clip lives: a plain clip where the gateway PUTs it (clips/, which S3 announces to
    ingest); a sealed clip's plaintext, which ingest itself writes, under opened/, which S3 announces to
    nobody, so ingest's own PUT starts no second ingest run."""
    return f"{'opened' if sealed else 'clips'}/{site}/{camera_id}/{start:%Y/%m/%d}/{clip_id}.mp4"


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


class StoredVersion(BaseModel):
    """One object version the archive keeps for a clip: what expiry deletes, exactly, without listing."""

    model_config = ConfigDict(frozen=True)

    key: str
    version_id: str


GONE = frozenset({ClipStatus.EXPIRED, ClipStatus.ERASED})


class Clip(ClipRecord):
    """The index record of one clip."""

    gateway_id: str
    object_key: str
    object_version: str | None = None  # the playable clip's version at object_key
    sealed: SealedFile | None = None
    sealed_version: str | None = None  # the sealed upload ingest took (deleted once opened and indexed)
    multipart_upload_id: str | None = None
    part_sha256: tuple[str, ...] = ()  # what the gateway declared for each part: signed into the part URLs
    thumbnail_keys: tuple[str, ...] = ()
    thumbnail_versions: tuple[str, ...] = ()
    bytes_verified: bool = Field(
        default=False, description="ingest hashed the upload and found exactly the bytes registered"
    )

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
    def claimed_version(self) -> str | None:
        """The version of the upload ingest took to judge."""
        return self.sealed_version if self.sealed else self.object_version

    @property
    def received(self) -> bool:
        """Ingest found exactly the registered bytes (an indexed clip always had them): the gateway may delete
        its copy. A clip quarantined because its bytes differ is not received: the gateway's copy is the true one."""
        return self.status == ClipStatus.INDEXED or self.bytes_verified

    @property
    def registered_seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def stored_versions(self) -> list[StoredVersion] | None:
        """Every object version the archive keeps for the clip, once ingest has judged it; None while that is
        not known exactly (still awaited or being judged, or a record from before versions were recorded)."""
        if self.status not in (ClipStatus.INDEXED, ClipStatus.QUARANTINED):
            return None
        if len(self.thumbnail_versions) != len(self.thumbnail_keys):
            return None
        thumbnails = zip(self.thumbnail_keys, self.thumbnail_versions, strict=True)
        stored = [StoredVersion(key=key, version_id=version) for key, version in thumbnails]
        if self.object_version:
            stored.append(StoredVersion(key=self.object_key, version_id=self.object_version))
        if self.sealed_version:
            stored.append(StoredVersion(key=self.upload_key, version_id=self.sealed_version))
        return stored
