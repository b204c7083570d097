"""Gateways register clips, ask after them and report their health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.catalog import Gateway
from chalicelib.domain.clips import (
    Clip,
    ClipStatus,
    Registration,
    RegistrationLimits,
    check_registration,
    clip_id_for,
    object_key,
    retain_until,
    sealed_key,
)
from chalicelib.domain.gaps import DropReport, Gap
from chalicelib.domain.principal import Principal
from chalicelib.errors import AccessRefused, Conflict, HiddenRefusal, InvalidRequest, NotFound
from chalicelib.policy import Action, authorize
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.gaps import GapLog
from chalicelib.store.objects import CLIP_CONTENT_TYPE, SEALED_CONTENT_TYPE, ClipObjects, UploadTicket

# Clips over 100 MB go in parts, so a broken uplink costs one part, not the clip (DESIGN.md, gateway API).
MULTIPART_ABOVE = 100_000_000
PART_SIZE = 16 << 20


class CameraProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    last_segment_at: str | None = None
    restarts: int = Field(default=0, ge=0)


class Heartbeat(BaseModel):
    """What a gateway reports every half minute: progress, not just liveness."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(default="", max_length=64)
    spool_clips: int = Field(default=0, ge=0)
    spool_bytes: int = Field(default=0, ge=0)
    oldest_pending_s: float = Field(default=0, ge=0)
    dropped_clips: int = Field(default=0, ge=0)
    free_disk_bytes: int = Field(default=0, ge=0)
    clock_offset_s: float = 0.0
    cameras: dict[str, CameraProgress] = Field(default_factory=dict, max_length=256)


class GatewayClipState(BaseModel):
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


class PartTicket(UploadTicket):
    part_number: int


class MultipartPlan(BaseModel):
    clip_id: str
    upload_id: str
    part_size: int
    parts_total: int
    parts_stored: list[int]
    parts: list[PartTicket] = Field(description="signed URLs for exactly the parts S3 does not hold yet")


class MultipartAssembled(BaseModel):
    clip_id: str
    parts: int


@dataclass(frozen=True)
class RegisteredClip:
    clip: Clip
    upload: UploadTicket | None
    created: bool
    received: bool  # the archive has the bytes already: nothing (more) to upload

    def answer(self) -> RegistrationAnswer:
        return RegistrationAnswer(**gateway_clip_view(self.clip, self.received).model_dump(), upload=self.upload)


class Intake:
    def __init__(
        self,
        catalog: Catalog,
        index: ClipIndex,
        objects: ClipObjects,
        limits: RegistrationLimits,
        upload_ttl: timedelta,
        gaps: GapLog,
    ) -> None:
        self._gaps = gaps
        self._catalog = catalog
        self._index = index
        self._objects = objects
        self._limits = limits
        self._upload_ttl = upload_ttl

    def register(self, principal: Principal, registration: Registration, now: datetime) -> RegisteredClip:
        """Register a clip (or return the same one again) with a signed upload while it awaits its bytes."""
        gateway = self._gateway(principal)
        camera = self._catalog.get_camera(registration.camera_id)
        if camera is None or camera.site_id != gateway.site_id or camera.camera_id not in gateway.camera_ids:
            raise AccessRefused(
                f"camera {registration.camera_id} is not one of this gateway's cameras",
                action=Action.REGISTER_CLIP,
                site=gateway.site_id,
                target=registration.camera_id,
            )
        authorize(principal, Action.REGISTER_CLIP, gateway.site_id, target=registration.camera_id)
        check_registration(registration, now, self._limits)
        site = self._catalog.get_site(gateway.site_id)
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
            object_key=object_key(site.site_id, registration.camera_id, registration.start, clip_id),
            sealed=registration.sealed,
        )
        clip = self._index.register(new)
        created = clip is not None
        if clip is None:
            clip = self._index.get(clip_id)
            if clip is None or not clip.same_registration(registration):
                raise Conflict(f"clip {clip_id} was registered with different end or size")
            if clip.status == ClipStatus.REGISTERED and registration.sealed != clip.sealed:
                # The gateway sealed it anew (age uses a fresh key each time): upload what it holds now.
                clip = self._index.reseal(clip_id, registration.sealed) or clip
        # Asked again for a clip whose bytes S3 already holds (the answer to the PUT or to the multipart
        # completion was lost on the way back): no new URL, so nothing is sent twice.
        received = not created and self._holds_bytes(clip)
        upload = None if received else self._upload_ticket(clip, now)
        return RegisteredClip(clip=clip, upload=upload, created=created, received=received)

    def multipart(self, principal: Principal, clip_id: str, now: datetime) -> MultipartPlan:
        """Start, or resume, a large clip's multipart upload: URLs for exactly the parts S3 does not hold yet."""
        clip = self._registered_clip(principal, clip_id)
        upload_id = clip.multipart_upload_id
        stored = self._objects.stored_parts(clip.upload_key, upload_id) if upload_id else None
        if upload_id is None or stored is None:  # none yet, or aborted (incomplete uploads go after a day)
            content_type = SEALED_CONTENT_TYPE if clip.sealed else CLIP_CONTENT_TYPE
            started = self._objects.start_multipart(clip.upload_key, content_type)
            if self._index.start_multipart(clip_id, started, upload_id) is None:
                raise Conflict(f"clip {clip_id} is being uploaded by another request: ask again")
            upload_id, stored = started, []
        sizes = part_sizes(clip.upload_size, PART_SIZE)
        held = {part.number for part in stored if part.number <= len(sizes) and part.size == sizes[part.number - 1]}
        missing = [
            PartTicket(part_number=number, **self._part_ticket(clip, upload_id, number, size, now).model_dump())
            for number, size in enumerate(sizes, start=1)
            if number not in held
        ]
        return MultipartPlan(
            clip_id=clip_id,
            upload_id=upload_id,
            part_size=PART_SIZE,
            parts_total=len(sizes),
            parts_stored=sorted(held),
            parts=missing,
        )

    def _part_ticket(self, clip: Clip, upload_id: str, number: int, size: int, now: datetime) -> UploadTicket:
        return self._objects.part_ticket(clip.upload_key, upload_id, number, size, self._upload_ttl, now)

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
            clip.upload_key, clip.multipart_upload_id, [by_number[n] for n in range(1, len(sizes) + 1)]
        )
        return MultipartAssembled(clip_id=clip_id, parts=len(sizes))

    def _registered_clip(self, principal: Principal, clip_id: str) -> Clip:
        clip = self.clip_state(principal, clip_id)
        if clip.status != ClipStatus.REGISTERED:
            raise Conflict(f"clip {clip_id} is {clip.status}: nothing left to upload")
        return clip

    def _upload_ticket(self, clip: Clip, now: datetime) -> UploadTicket | None:
        if clip.status != ClipStatus.REGISTERED or clip.upload_size > MULTIPART_ABOVE:
            return None
        if clip.sealed is None:
            return self._objects.upload_ticket(
                clip.object_key, clip.sha256, clip.size, CLIP_CONTENT_TYPE, self._upload_ttl, now
            )
        key = sealed_key(clip.site, clip.camera_id, clip.start, clip.clip_id)
        return self._objects.upload_ticket(
            key, clip.sealed.sha256, clip.sealed.size, SEALED_CONTENT_TYPE, self._upload_ttl, now
        )

    def gateway_report(self, principal: Principal, clip_id: str) -> GatewayClipState:
        """The gateway's view of its clip, `received` as soon as S3 holds exactly the bytes registered.

        Not only once ingest has taken them in: S3 has verified the signed checksum, and a copy the
        gateway kept could not change ingest's verdict. So the gateway's spool empties at the pace of its
        uplink, not of the archive's processing.
        """
        clip = self.clip_state(principal, clip_id)
        return gateway_clip_view(clip, self._holds_bytes(clip))

    def _holds_bytes(self, clip: Clip) -> bool:
        """Ingest has judged the clip, or, still registered, S3 holds exactly the bytes registered: the
        sealed upload, or (once ingest has opened it and removed it, before the plaintext's own event is
        handled) the clip itself."""
        if clip.received:
            return True
        if clip.status != ClipStatus.REGISTERED:
            return False
        if self._objects.holds(clip.upload_key, clip.upload_size, clip.upload_sha256):
            return True
        return clip.sealed is not None and self._objects.holds(clip.object_key, clip.size, clip.sha256)

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
        self._catalog.record_heartbeat(gateway.gateway_id, heartbeat.model_dump(), now)

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
