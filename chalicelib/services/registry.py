"""Admins manage cameras and gateways (and never see footage)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.domain.audit import Outcome
from chalicelib.domain.catalog import (
    Camera,
    Gateway,
    NewCamera,
    NewGateway,
    gateway_token,
    new_gateway_id,
    new_gateway_secret,
    silent_cameras,
)
from chalicelib.domain.clips import UtcTime
from chalicelib.domain.principal import Principal
from chalicelib.errors import InvalidRequest, NotFound
from chalicelib.policy import Action, authorize, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog


class GatewayView(BaseModel):
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


class GatewayList(BaseModel):
    gateways: list[GatewayHealth]


class Registry:
    def __init__(self, catalog: Catalog, audit: AuditLog, silent_after: timedelta) -> None:
        self._catalog = catalog
        self._audit = audit
        self._silent_after = silent_after

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
                silent = silent_cameras(gateway, last_clip, now, self._silent_after)
                views.append(GatewayHealth(**gateway.model_dump(), silent_cameras=silent))
        return GatewayList(gateways=views)
