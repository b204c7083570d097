"""Gateways register clips, ask after them and report their health."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from chalicelib.domain.audit import Outcome
from chalicelib.domain.catalog import Camera, Gateway, Site
from chalicelib.domain.clips import (
    CAMERA_ID_PATTERN,
    SHA256_PATTERN,
    Clip,
    ClipStatus,
    Registration,
    RegistrationLimits,
    UploadUrlPolicy,
    UtcTime,
    check_registration,
    clip_id_for,
    object_key,
    retain_until,
)
from chalicelib.domain.gaps import DropReport, Gap
from chalicelib.domain.principal import Principal
from chalicelib.errors import AccessRefused, ArchiveError, Conflict, HiddenRefusal, InvalidRequest, NotFound
from chalicelib.model import Model
from chalicelib.policy import Action, authorize
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.gaps import GapLog
from chalicelib.store.objects import (
    CLIP_CONTENT_TYPE,
    SEALED_CONTENT_TYPE,
    SINGLE_PUT_BYTES,
    ClipObjects,
    UploadTicket,
)

# Clips over 100 MB go in parts, so a broken uplink costs one part, not the clip (DESIGN.md, gateway API).
MULTIPART_ABOVE = SINGLE_PUT_BYTES
PART_SIZE = 16 << 20
MAX_PARTS = 10_000  # S3's limit for one multipart upload
# A gateway's backlog registered in one request: one round trip (and one Lambda run) for many clips, while
# the answer (a signed URL per clip, about 1 KB each) stays far within API Gateway's and Lambda's limits
# and the request within a few seconds.
MAX_BATCH = 50


# Bounds that every real gateway is far within, and DynamoDB's numbers too (it refuses magnitudes beyond 1e126
# and below 1e-130: a 500). Seconds are kept to the millisecond, which is all a heartbeat can tell.
_COUNT = Field(default=0, ge=0, le=2**53)
_SECONDS = 10**9  # about 30 years
Milliseconds = Annotated[float, AfterValidator(lambda seconds: round(seconds, 3))]


class CameraProgress(Model):
    model_config = ConfigDict(extra="forbid")

    last_segment_at: UtcTime | None = None
    restarts: int = _COUNT


class Heartbeat(Model):
    """What a gateway reports every half minute: progress, not just liveness."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(default="", max_length=64)
    spool_clips: int = _COUNT
    spool_bytes: int = _COUNT
    oldest_pending_s: Milliseconds = Field(default=0, ge=0, le=_SECONDS)
    dropped_clips: int = _COUNT
    failed_clips: int = Field(
        default=0, ge=0, le=2**53, description="clips the archive refused for good, kept on the box"
    )
    free_disk_bytes: int = _COUNT
    clock_offset_s: Milliseconds = Field(default=0.0, ge=-_SECONDS, le=_SECONDS)
    cameras: dict[Annotated[str, Field(pattern=CAMERA_ID_PATTERN)], CameraProgress] = Field(
        default_factory=dict, max_length=256
    )


class GatewayClipState(Model):
    """What a gateway may know of its clip: enough to decide whether to delete its copy."""

    clip_id: str
    camera_id: str
    status: ClipStatus
    received: bool = Field(description="S3 holds exactly the bytes registered: the gateway may delete its copy")
    multipart: bool = Field(description="the clip goes in parts: ask POST /gateway/clips/{clip_id}/multipart")
    sha256: str
    quarantine_reason: str | None


class RegistrationAnswer(GatewayClipState):
    upload: UploadTicket | None = Field(description="how to PUT the bytes; none once received, or for multipart")
    part_size: int | None = Field(
        default=None,
        description="multipart: the bytes of each part but the last (shorter); give each part's sha256 in that size",
    )


class RegistrationBatch(Model):
    """Clips registered in one request, each judged as `POST /gateway/clips` judges it alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clips: list[Registration] = Field(min_length=1, max_length=MAX_BATCH)


class ClipRefusal(Model):
    error: str = Field(description="a stable code, as the single registration's error would carry")
    message: str


class BatchItem(Model):
    """One clip of a batch, answered as `POST /gateway/clips` would have answered it alone."""

    status: int = Field(description="201 registered now, 200 registered before, or the clip's refusal (4xx)")
    clip: RegistrationAnswer | None = Field(description="the registration's answer; none if refused")
    refusal: ClipRefusal | None = Field(description="why this clip was refused (audited as alone); none if not")


class BatchAnswer(Model):
    clips: list[BatchItem] = Field(description="one per clip, in the order given")


class PartTicket(UploadTicket):
    part_number: int


class MultipartRequest(Model):
    """The SHA-256 of each part as the gateway will send it (parts of `part_size` bytes, the last one shorter):
    signed into each part's URL, so S3 refuses any other bytes for that part."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    part_sha256: list[Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]] = Field(
        min_length=1, max_length=MAX_PARTS
    )


class MultipartPlan(Model):
    clip_id: str
    upload_id: str
    part_size: int
    parts_total: int
    parts_stored: list[int]
    parts: list[PartTicket] = Field(description="signed URLs for exactly the parts S3 does not hold yet")


class MultipartAssembled(Model):
    clip_id: str
    parts: int


@dataclass(frozen=True)
class RegisteredClip:
    clip: Clip
    upload: UploadTicket | None
    created: bool
    received: bool  # the archive has the bytes already: nothing (more) to upload

    def answer(self) -> RegistrationAnswer:
        state = gateway_clip_view(self.clip, self.received)
        return RegistrationAnswer(
            **state.model_dump(), upload=self.upload, part_size=PART_SIZE if state.multipart else None
        )


def _object_key(site_id: str, registration: Registration, clip_id: str) -> str:
    return object_key(
        site_id, registration.camera_id, registration.start, clip_id, sealed=registration.sealed is not None
    )


class Intake:
    def __init__(
        self,
        catalog: Catalog,
        index: ClipIndex,
        objects: ClipObjects,
        limits: RegistrationLimits,
        urls: UploadUrlPolicy,
        gaps: GapLog,
        audit: AuditLog,
    ) -> None:
        self._gaps = gaps
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._limits = limits
        self._urls = urls
        self._audit = audit

    def register(self, principal: Principal, registration: Registration, now: datetime) -> RegisteredClip:
        """Register a clip (or return the same one again) with a signed upload while it awaits its bytes."""
        return self._register(principal, self._gateway(principal), _Reads(self._catalog), registration, now)

    def register_batch(self, principal: Principal, batch: RegistrationBatch, now: datetime) -> BatchAnswer:
        """Register each clip as `register` would alone, in the order given: a clip's refusal is its own answer
        (a rule's refusal audited as for a single registration), the others' registrations stand. A gateway
        that may not register at all is refused as a whole."""
        gateway = self._gateway(principal)
        reads = _Reads(self._catalog)  # one batch is mostly one camera's: its camera and site read once
        items: list[BatchItem] = []
        for registration in batch.clips:
            try:
                registered = self._register(principal, gateway, reads, registration, now)
            except ArchiveError as error:
                if isinstance(error, AccessRefused):
                    self._audit.record_refusal(principal, error, now, asked="POST /gateway/clips/batch")
                items.append(
                    BatchItem(
                        status=error.status, clip=None, refusal=ClipRefusal(error=error.code, message=error.message)
                    )
                )
            else:
                items.append(
                    BatchItem(status=201 if registered.created else 200, clip=registered.answer(), refusal=None)
                )
        return BatchAnswer(clips=items)

    def _register(
        self, principal: Principal, gateway: Gateway, reads: _Reads, registration: Registration, now: datetime
    ) -> RegisteredClip:
        camera = reads.camera(registration.camera_id)
        if camera is None or camera.site_id != gateway.site_id or camera.camera_id not in gateway.camera_ids:
            raise AccessRefused(
                f"camera {registration.camera_id} is not one of this gateway's cameras",
                action=Action.REGISTER_CLIP,
                site=gateway.site_id,
                target=registration.camera_id,
            )
        authorize(principal, Action.REGISTER_CLIP, gateway.site_id, target=registration.camera_id)
        check_registration(registration, now, self._limits)
        upload_size = registration.sealed.size if registration.sealed else registration.size
        if len(part_sizes(upload_size, PART_SIZE)) > MAX_PARTS:
            raise InvalidRequest(f"a clip may be uploaded in at most {MAX_PARTS} parts of {PART_SIZE} bytes")
        site = reads.site(gateway.site_id)
        if site is None:
            raise NotFound(f"site {gateway.site_id} is not configured")
        keep_until = retain_until(registration.start, site.retention_days)
        if keep_until <= now:
            raise InvalidRequest(
                f"the clip's retention ({site.retention_days} days) is already over: delete it at the edge"
            )
        clip_id = clip_id_for(site.site_id, registration)
        new = Clip(
            clip_id=clip_id,
            site=site.site_id,
            camera_id=registration.camera_id,
            gateway_id=gateway.gateway_id,
            start=registration.start,
            end=registration.end,
            size=registration.size,
            sha256=registration.sha256,
            status=ClipStatus.REGISTERED,
            retain_until=keep_until,
            registered_at=now,
            object_key=_object_key(site.site_id, registration, clip_id),
            sealed=registration.sealed,
            clock_correction_s=registration.clock_correction_s,
        )
        clip = self._index.register(new)
        created = clip is not None
        if clip is None:
            clip = self._index.get(clip_id)
            if clip is None or not clip.same_registration(registration):
                raise Conflict(f"clip {clip_id} was registered with different end or size")
            if clip.status == ClipStatus.QUARANTINED and not clip.bytes_verified:
                clip = self._reopen(principal, clip, now)
            if clip.status == ClipStatus.REGISTERED and registration.sealed != clip.sealed:
                # The gateway sealed it anew (age uses a fresh key each time): upload what it holds now.
                resealed_key = _object_key(site.site_id, registration, clip_id)
                clip = self._index.reseal(clip_id, registration.sealed, resealed_key) or clip
        # Asked again for a clip whose bytes S3 already holds (the answer to the PUT or to the multipart
        # completion was lost on the way back): no new URL, so nothing is sent twice.
        received = not created and self._holds_bytes(clip)
        upload = None if received else self._upload_ticket(clip, now)
        return RegisteredClip(clip=clip, upload=upload, created=created, received=received)

    def _reopen(self, principal: Principal, clip: Clip, now: datetime) -> Clip:
        """What S3 got was not the registered bytes (the gateway was never told `received`): the gateway asks
        again, so the wrong bytes go and the clip awaits the true ones, on the record."""
        self._objects.delete_all_of(clip)
        reopened = self._index.reopen(clip)
        if reopened is None:
            return self._index.get(clip.clip_id) or clip
        self._audit.record(
            principal,
            Action.REGISTER_CLIP,
            clip.site,
            f"clip:{clip.clip_id}",
            Outcome.ALLOWED,
            now,
            reason=f"upload asked for again: {clip.quarantine_reason}",
        )
        return reopened

    def multipart(self, principal: Principal, clip_id: str, request: MultipartRequest, now: datetime) -> MultipartPlan:
        """Start, or resume, a large clip's multipart upload: URLs for exactly the parts S3 does not hold yet,
        each with its declared SHA-256 signed in."""
        clip = self._registered_clip(principal, clip_id)
        sizes = part_sizes(clip.upload_size, PART_SIZE)
        if len(request.part_sha256) != len(sizes):
            raise InvalidRequest(f"the clip goes in {len(sizes)} parts of {PART_SIZE} bytes: give a sha256 for each")
        upload_id = clip.multipart_upload_id
        declared = list(request.part_sha256)
        stored = self._objects.stored_parts(clip.upload_key, upload_id) if upload_id else None
        if upload_id is not None and stored is not None and list(clip.part_sha256) != declared:
            # Other parts than before (sealed anew): the stored ones are not these.
            self._objects.abort_multipart(clip.upload_key, upload_id)
            stored = None
        if upload_id is None or stored is None:  # none yet, aborted (incomplete uploads go after a day), replaced
            content_type = SEALED_CONTENT_TYPE if clip.sealed else CLIP_CONTENT_TYPE
            started = self._objects.start_multipart(clip.upload_key, content_type)
            if self._index.start_multipart(clip_id, started, declared, upload_id) is None:
                raise Conflict(f"clip {clip_id} is being uploaded by another request: ask again")
            upload_id, stored = started, []
        held = {part.number for part in stored if part.number <= len(sizes) and part.size == sizes[part.number - 1]}
        missing: list[PartTicket] = []
        before = 0
        for number, size in enumerate(sizes, start=1):
            if number not in held:
                ticket = self._part_ticket(clip, upload_id, number, size, declared[number - 1], before, now)
                missing.append(PartTicket(part_number=number, **ticket.model_dump()))
                before += size  # the parts still to send go one after another
        return MultipartPlan(
            clip_id=clip_id,
            upload_id=upload_id,
            part_size=PART_SIZE,
            parts_total=len(sizes),
            parts_stored=sorted(held),
            parts=missing,
        )

    def _part_ticket(
        self, clip: Clip, upload_id: str, number: int, size: int, sha256: str, before: int, now: datetime
    ) -> UploadTicket:
        ttl = self._urls.ttl(before, clip.retain_until, now)
        if ttl is None:
            raise Conflict(f"clip {clip.clip_id}'s retention is over: nothing to upload")
        return self._objects.part_ticket(clip.upload_key, upload_id, number, size, sha256, ttl, now)

    def complete_multipart(self, principal: Principal, clip_id: str) -> MultipartAssembled:
        """Assemble the parts S3 holds, once they are all there; the clip then goes to ingest as any other."""
        clip = self._registered_clip(principal, clip_id)
        stored = (
            self._objects.stored_parts(clip.upload_key, clip.multipart_upload_id) if clip.multipart_upload_id else None
        )
        if stored is None or clip.multipart_upload_id is None:
            raise Conflict(f"clip {clip_id} has no multipart upload under way: start one first")
        sizes = part_sizes(clip.upload_size, PART_SIZE)
        by_number = {part.number: part for part in stored}
        missing = [n for n, size in enumerate(sizes, start=1) if by_number.get(n) is None or by_number[n].size != size]
        if missing:
            raise Conflict(f"parts {missing} are not stored yet")
        self._objects.complete_multipart(
            clip.upload_key,
            clip.multipart_upload_id,
            [by_number[n] for n in range(1, len(sizes) + 1)],
            list(clip.part_sha256),
        )
        return MultipartAssembled(clip_id=clip_id, parts=len(sizes))

    def _registered_clip(self, principal: Principal, clip_id: str) -> Clip:
        clip = self.clip_state(principal, clip_id)
        if clip.status != ClipStatus.REGISTERED:
            raise Conflict(f"clip {clip_id} is {clip.status}: nothing left to upload")
        return clip

    def _upload_ticket(self, clip: Clip, now: datetime) -> UploadTicket | None:
        ttl = self._urls.ttl(0, clip.retain_until, now)
        if clip.status != ClipStatus.REGISTERED or clip.upload_size > MULTIPART_ABOVE or ttl is None:
            return None
        content_type = SEALED_CONTENT_TYPE if clip.sealed else CLIP_CONTENT_TYPE
        return self._objects.upload_ticket(
            clip.upload_key, clip.upload_sha256, clip.upload_size, content_type, ttl, now
        )

    def gateway_report(self, principal: Principal, clip_id: str) -> GatewayClipState:
        """The gateway's view of its clip, `received` as soon as the archive holds exactly the bytes registered.

        For a single PUT, as soon as S3 vouches for them (it verified the SHA-256 signed into the URL), not
        only once ingest has taken them in: a copy the gateway kept could not change ingest's verdict, so
        its spool empties at the pace of its uplink. A multipart upload carries only its parts' checksums,
        so it is received once ingest has hashed the whole object.
        """
        clip = self.clip_state(principal, clip_id)
        return gateway_clip_view(clip, self._holds_bytes(clip))

    def _holds_bytes(self, clip: Clip) -> bool:
        """Ingest found the registered bytes, or, not judged yet, S3 vouches for them (see gateway_report)."""
        if clip.received:
            return True
        if clip.status not in (ClipStatus.REGISTERED, ClipStatus.UPLOADED):
            return False
        return self._objects.holds(clip.upload_key, clip.upload_size, clip.upload_sha256)

    def clip_state(self, principal: Principal, clip_id: str) -> Clip:
        gateway = self._gateway(principal)
        clip = self._index.get(clip_id)
        if clip is None:
            raise NotFound(f"clip {clip_id} not found")
        if clip.site != gateway.site_id:
            raise HiddenRefusal(
                f"clip {clip_id} not found", action=Action.READ_OWN_CLIP, site=clip.site, target=clip_id
            )
        return clip

    def report_drops(self, principal: Principal, report: DropReport, now: datetime) -> int:
        """Record footage the gateway dropped at the edge as gaps of its cameras; how many."""
        gateway = self._gateway(principal)
        _refuse_other_cameras(gateway, [drop.camera_id for drop in report.drops], Action.REPORT_DROPS)
        self._gaps.record(
            [
                Gap(site=gateway.site_id, gateway_id=gateway.gateway_id, reported_at=now, **drop.model_dump())
                for drop in report.drops
            ]
        )
        return len(report.drops)

    def heartbeat(self, principal: Principal, heartbeat: Heartbeat, now: datetime) -> None:
        gateway = self._gateway(principal)
        authorize(principal, Action.HEARTBEAT, gateway.site_id)
        # Another site's camera shown as healthy would hide that it went silent.
        _refuse_other_cameras(gateway, list(heartbeat.cameras), Action.HEARTBEAT)
        self._catalog.record_heartbeat(gateway.gateway_id, heartbeat.model_dump(mode="json"), now)

    def _gateway(self, principal: Principal) -> Gateway:
        gateway_id = principal.id.removeprefix("gateway:")
        gateway = self._catalog.get_gateway(gateway_id) if principal.id.startswith("gateway:") else None
        if gateway is None or gateway.revoked:
            raise AccessRefused(
                "only a registered, unrevoked gateway may do this",
                action=Action.REGISTER_CLIP,
                site=next(iter(principal.sites), ""),
            )
        return gateway


class _Reads:
    """The catalog's cameras and sites, each read once for one request."""

    def __init__(self, catalog: Catalog) -> None:
        self.camera: Callable[[str], Camera | None] = functools.cache(catalog.get_camera)
        self.site: Callable[[str], Site | None] = functools.cache(catalog.get_site)


def _refuse_other_cameras(gateway: Gateway, camera_ids: list[str], action: Action) -> None:
    for camera_id in camera_ids:
        if camera_id not in gateway.camera_ids:
            raise AccessRefused(
                f"camera {camera_id} is not one of this gateway's cameras",
                action=action,
                site=gateway.site_id,
                target=camera_id,
            )


def part_sizes(total: int, part_size: int) -> list[int]:
    """The byte count of each part, in order (S3 wants every part but the last at least 5 MiB)."""
    full, rest = divmod(total, part_size)
    return [part_size] * full + ([rest] if rest else [])


def gateway_clip_view(clip: Clip, received: bool) -> GatewayClipState:
    return GatewayClipState(
        clip_id=clip.clip_id,
        camera_id=clip.camera_id,
        status=clip.status,
        received=received,
        multipart=clip.status == ClipStatus.REGISTERED and not received and clip.upload_size > MULTIPART_ABOVE,
        sha256=clip.sha256,
        quarantine_reason=clip.quarantine_reason,
    )
