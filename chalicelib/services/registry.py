"""Admins manage cameras and gateways (and never see footage)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict, Field
from ulid import ULID

from chalicelib.domain.audit import Outcome
from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start, raised_locks
from chalicelib.domain.catalog import (
    SITE_ID_PATTERN,
    Camera,
    Gateway,
    NewCamera,
    NewGateway,
    Site,
    SiteConfiguration,
    gateway_token,
    new_gateway_id,
    new_gateway_secret,
    silent_cameras,
)
from chalicelib.domain.clips import UtcTime
from chalicelib.domain.principal import Principal
from chalicelib.domain.sites import changes, configured_site
from chalicelib.errors import Conflict, InvalidRequest, NotFound
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.digests import AuditDigests
from chalicelib.store.sealing_keys import SealingKeys


class GatewayView(Model):
    """A gateway as admins see it: everything but its secret's hash."""

    gateway_id: str
    site_id: str
    name: str
    camera_ids: tuple[str, ...]
    created_at: UtcTime
    created_by: str
    revoked_at: UtcTime | None = None
    revoked_by: str | None = None
    last_seen_at: UtcTime | None = None
    last_heartbeat: dict[str, Any] | None = Field(default=None, description="the gateway's last heartbeat, as sent")


class CreatedGateway(GatewayView):
    token: str = Field(description="`Authorization: Bearer <token>` for the gateway; shown this once only")
    site_recipient: str | None = Field(description="the site's age public key the gateway seals clips to")


class GatewayHealth(GatewayView):
    silent_cameras: list[str] = Field(description="cameras of the gateway with nothing heard for a while")
    failed_clips: int = Field(
        description="clips the archive refused for good, waiting in the gateway's failed/ folder for a person "
        "(from its last heartbeat; each is also a gap with reason `refused`)"
    )


class GatewayList(Model):
    gateways: list[GatewayHealth]


class SiteConfigurationView(SiteConfiguration):
    """A site's configuration as stored, with the policy now in force and the key gateways seal to."""

    site_id: str
    retention_days: int = Field(description="the DPO's retention policy in force")
    sealing_recipient: str | None
    sealing_key_id: str | None


class NewSealingKey(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rotate: bool = Field(default=False, description="replace the site's key; the old one still opens what it sealed")


class SealingKeyMade(Model):
    site_id: str
    key_id: str
    recipient: str = Field(description="the age public key: put it in the site's gateways' configuration")
    replaced_key_id: str | None = Field(description="the key gateways sealed to before (kept, for clips sealed to it)")
    created_at: UtcTime


class Registry:
    def __init__(
        self,
        catalog: Catalog,
        audit: AuditLog,
        silent_after: timedelta,
        clock_skew: timedelta,
        keys: SealingKeys,
        digests: AuditDigests,
    ) -> None:
        self._catalog = catalog
        self._audit = audit
        self._silent_after = silent_after
        self._clock_skew = clock_skew
        self._keys = keys
        self._digests = digests

    def site_configuration(self, principal: Principal, site_id: str) -> SiteConfigurationView:
        authorize(principal, Action.READ_SITE_CONFIGURATION, site_id)
        site = self._catalog.get_site(site_id)
        if site is None:
            raise NotFound(f"site {site_id} is not configured")
        return configuration_view(site)

    def configure_site(
        self, principal: Principal, site_id: str, config: SiteConfiguration, now: datetime
    ) -> SiteConfigurationView:
        """Create or reconfigure a site: its legal limits and their basis, controller, DPO contact (audited)."""
        authorize(principal, Action.CONFIGURE_SITE, site_id)
        if not re.fullmatch(SITE_ID_PATTERN, site_id):
            raise InvalidRequest(f"site id {site_id!r} must match {SITE_ID_PATTERN}")
        before = self._catalog.get_site(site_id)
        after = configured_site(before, site_id, config)
        others = [site for site in self._catalog.sites(self._catalog.site_ids()) if site.site_id != site_id]
        raised = raised_locks(before, after, others)
        # Digests already written are locked for the new limits before they apply, so none is ever locked
        # shorter than the limits in force; a second pass after them catches the digest written meanwhile.
        for chain, lock in raised.items():
            self._digests.extend_locks(chain, lock)
        self._catalog.put_site(after)
        for chain, lock in raised.items():
            self._digests.extend_locks(chain, lock, since=interval_start(now) - DIGEST_INTERVAL)
        self._audit.record(
            principal,
            Action.CONFIGURE_SITE,
            site_id,
            f"site:{site_id}",
            Outcome.ALLOWED,
            now,
            reason=changes(before, after),
        )
        return configuration_view(after)

    def make_sealing_key(
        self, principal: Principal, site_id: str, request: NewSealingKey, now: datetime
    ) -> SealingKeyMade:
        """A new key pair for the site: the private key to the ingest function's secrets, the public one into
        the site's record for its gateways. Rotating keeps the old key, so what was sealed to it still opens."""
        authorize(principal, Action.MAKE_SEALING_KEY, site_id)
        site = self._catalog.get_site(site_id)
        if site is None:
            raise NotFound(f"site {site_id} is not configured")
        if site.sealing_key_id and not request.rotate:
            raise Conflict(f"site {site_id} has a sealing key ({site.sealing_key_id}): ask to rotate it")
        if request.rotate and not site.sealing_key_id:
            raise Conflict(f"site {site_id} has no sealing key to rotate: make one")
        key_id, identity, recipient = new_sealing_key(now)
        self._keys.store(site_id, key_id, identity)
        self._catalog.put_site(site.model_copy(update={"sealing_recipient": recipient, "sealing_key_id": key_id}))
        replaced = f"; replaces {site.sealing_key_id} (kept)" if site.sealing_key_id else ""
        self._audit.record(
            principal,
            Action.MAKE_SEALING_KEY,
            site_id,
            f"sealing-key:{key_id}",
            Outcome.ALLOWED,
            now,
            reason=f"made{replaced}",
        )
        return SealingKeyMade(
            site_id=site_id, key_id=key_id, recipient=recipient, replaced_key_id=site.sealing_key_id, created_at=now
        )

    def add_camera(self, principal: Principal, site_id: str, new: NewCamera, now: datetime) -> Camera:
        authorize(principal, Action.CREATE_CAMERA, site_id)
        if self._catalog.get_site(site_id) is None:
            raise NotFound(f"site {site_id} not found")
        camera = Camera(site_id=site_id, created_at=now, **new.model_dump())
        self._catalog.add_camera(camera)
        self._audit.record(principal, Action.CREATE_CAMERA, site_id, f"camera:{camera.camera_id}", Outcome.ALLOWED, now)
        return camera

    def add_gateway(self, principal: Principal, new: NewGateway, now: datetime) -> CreatedGateway:
        """Create a gateway; its token is in this answer only and is stored as a hash."""
        authorize(principal, Action.CREATE_GATEWAY, new.site_id)
        for camera_id in new.camera_ids:
            camera = self._catalog.get_camera(camera_id)
            if camera is None or camera.site_id != new.site_id:
                raise InvalidRequest(f"camera {camera_id} is not a camera of site {new.site_id}")
        secret, secret_sha256 = new_gateway_secret()
        gateway = Gateway(
            gateway_id=new_gateway_id(new.site_id),
            site_id=new.site_id,
            name=new.name,
            camera_ids=tuple(sorted(set(new.camera_ids))),
            secret_sha256=secret_sha256,
            created_at=now,
            created_by=principal.id,
        )
        self._catalog.add_gateway(gateway)
        self._audit.record(
            principal,
            Action.CREATE_GATEWAY,
            new.site_id,
            f"gateway:{gateway.gateway_id}",
            Outcome.ALLOWED,
            now,
        )
        site = self._catalog.get_site(new.site_id)
        return CreatedGateway(
            **gateway.model_dump(),
            token=gateway_token(gateway.gateway_id, secret),
            site_recipient=site.sealing_recipient if site else None,
        )

    def revoke_gateway(self, principal: Principal, gateway_id: str, now: datetime) -> Gateway:
        require_role(principal, Action.REVOKE_GATEWAY)
        gateway = self._catalog.get_gateway(gateway_id)
        if gateway is None:
            raise NotFound(f"gateway {gateway_id} not found")
        authorize(principal, Action.REVOKE_GATEWAY, gateway.site_id, target=f"gateway:{gateway_id}", hide=True)
        revoked = self._catalog.revoke_gateway(gateway_id, principal.id, now)
        if revoked is None:
            raise NotFound(f"gateway {gateway_id} not found")
        self._audit.record(
            principal, Action.REVOKE_GATEWAY, gateway.site_id, f"gateway:{gateway_id}", Outcome.ALLOWED, now
        )
        return revoked

    def gateways(self, principal: Principal, now: datetime) -> GatewayList:
        """The gateways of the caller's sites, each with the cameras it has gone silent on."""
        require_role(principal, Action.LIST_GATEWAYS)
        views = []
        for site in sorted(principal.sites):
            last_clip = {camera.camera_id: camera.last_clip_at for camera in self._catalog.cameras_of_site(site)}
            for gateway in self._catalog.gateways_of_site(site):
                silent = silent_cameras(gateway, last_clip, now, self._silent_after, self._clock_skew)
                failed = (gateway.last_heartbeat or {}).get("failed_clips", 0)
                views.append(GatewayHealth(**gateway.model_dump(), silent_cameras=silent, failed_clips=failed))
        return GatewayList(gateways=views)


def configuration_view(site: Site) -> SiteConfigurationView:
    return SiteConfigurationView(
        **site.model_dump(include=set(SiteConfiguration.model_fields) | set(SiteConfigurationView.model_fields)),
        initial_retention_days=site.retention_days,
        initial_retention_justification=site.retention_justification,
    )


def new_sealing_key(now: datetime) -> tuple[str, str, str]:
    """A key id (sorting by time), an age identity and its public recipient."""
    from pyrage import x25519  # only here: the API's other routes need no age

    identity = x25519.Identity.generate()
    return str(ULID.from_datetime(now)), str(identity), str(identity.to_public())
