"""Routes for admins: sites and their sealing keys, cameras, gateways and officials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.principal import Principal

if TYPE_CHECKING:
    from chalicelib.domain.catalog import Camera, Gateway, NewCamera, NewGateway, SiteConfiguration
    from chalicelib.domain.officials import Official, OfficialAccount, OfficialRole
    from chalicelib.services.officials import EnrolledOfficial, OfficialList
    from chalicelib.services.registry import (
        CreatedGateway,
        GatewayList,
        NewSealingKey,
        SealingKeyMade,
        SiteConfigurationView,
    )

admin_api = Blueprint(__name__)


@api_route(
    admin_api,
    "/sites/{site}/cameras",
    method="POST",
    summary="Add a camera (admin)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.catalog:NewCamera",
    answer="chalicelib.domain.catalog:Camera",
    status=201,
    errors=(409,),
)
def add_camera(principal: Principal, site: str, body: NewCamera) -> Camera:
    return wiring.registry().add_camera(principal, site, body, wiring.now())


@api_route(
    admin_api,
    "/gateways",
    method="POST",
    summary="Create a gateway bound to a site and its cameras; its token is in this answer only (admin)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.catalog:NewGateway",
    answer="chalicelib.services.registry:CreatedGateway",
    status=201,
    errors=(409,),
)
def add_gateway(principal: Principal, body: NewGateway) -> CreatedGateway:
    return wiring.registry().add_gateway(principal, body, wiring.now())


@api_route(
    admin_api,
    "/gateways/{gateway_id}/revocation",
    method="POST",
    summary="Revoke a gateway at once (admin)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.registry:GatewayView",
)
def revoke_gateway(principal: Principal, gateway_id: str) -> Gateway:
    return wiring.registry().revoke_gateway(principal, gateway_id, wiring.now())


@api_route(
    admin_api,
    "/gateways",
    summary="Gateways of the caller's sites with their health and silent cameras (admin)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.registry:GatewayList",
)
def list_gateways(principal: Principal) -> GatewayList:
    return wiring.registry().gateways(principal, wiring.now())


@api_route(
    admin_api,
    "/officials",
    summary="The officials of the admin's sites: role, sites, enabled (admin)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.officials:OfficialList",
)
def list_officials(principal: Principal) -> OfficialList:
    return wiring.officials().officials(principal)


@api_route(
    admin_api,
    "/officials",
    method="POST",
    summary="Enrol an official of the admin's sites; the temporary password is in this answer only (admin)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.officials:Official",
    answer="chalicelib.services.officials:EnrolledOfficial",
    status=201,
    errors=(409,),
)
def enrol_official(principal: Principal, body: Official) -> EnrolledOfficial:
    return wiring.officials().enrol(principal, body, wiring.now())


@api_route(
    admin_api,
    "/officials/{username}",
    method="PUT",
    summary="Set an official's role and sites; their tokens stop working within a minute (admin)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.officials:OfficialRole",
    answer="chalicelib.domain.officials:OfficialAccount",
)
def change_official(principal: Principal, username: str, body: OfficialRole) -> OfficialAccount:
    return wiring.officials().change(principal, username, body, wiring.now())


@api_route(
    admin_api,
    "/officials/{username}/disable",
    method="POST",
    summary="Disable an official: refused everywhere within a minute (admin)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.domain.officials:OfficialAccount",
)
def disable_official(principal: Principal, username: str) -> OfficialAccount:
    return wiring.officials().set_enabled(principal, username, False, wiring.now())


@api_route(
    admin_api,
    "/officials/{username}/enable",
    method="POST",
    summary="Enable a disabled official again (admin)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.domain.officials:OfficialAccount",
)
def enable_official(principal: Principal, username: str) -> OfficialAccount:
    return wiring.officials().set_enabled(principal, username, True, wiring.now())


@api_route(
    admin_api,
    "/officials/{username}/password",
    method="POST",
    summary="Give an official a new temporary password (shown once); they choose their own at the next login",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.officials:EnrolledOfficial",
)
def reset_official_password(principal: Principal, username: str) -> EnrolledOfficial:
    return wiring.officials().reset_password(principal, username, wiring.now())


@api_route(
    admin_api,
    "/sites/{site}/configuration",
    summary="A site's configuration: legal limits and their basis, controller, DPO contact, sealing key (admin)",
    auth=Auth.OFFICIAL,
    answer="chalicelib.services.registry:SiteConfigurationView",
)
def read_site_configuration(principal: Principal, site: str) -> SiteConfigurationView:
    return wiring.registry().site_configuration(principal, site)


@api_route(
    admin_api,
    "/sites/{site}/configuration",
    method="PUT",
    summary="Create or reconfigure a site from its reviewed configuration; the DPO's retention policy stays "
    "(409 if it exceeds a lowered maximum); audited (admin)",
    auth=Auth.OFFICIAL,
    body="chalicelib.domain.catalog:SiteConfiguration",
    answer="chalicelib.services.registry:SiteConfigurationView",
    errors=(409,),
)
def configure_site(principal: Principal, site: str, body: SiteConfiguration) -> SiteConfigurationView:
    return wiring.registry().configure_site(principal, site, body, wiring.now())


@api_route(
    admin_api,
    "/sites/{site}/sealing-keys",
    method="POST",
    summary="Make the site's sealing key pair, or rotate it: gateways seal to the new public key, the old private "
    "key still opens what was sealed to it; the private key never leaves the archive (admin)",
    auth=Auth.OFFICIAL,
    body="chalicelib.services.registry:NewSealingKey",
    answer="chalicelib.services.registry:SealingKeyMade",
    status=201,
    errors=(409,),
)
def make_sealing_key(principal: Principal, site: str, body: NewSealingKey) -> SealingKeyMade:
    return wiring.registry().make_sealing_key(principal, site, body, wiring.now())
