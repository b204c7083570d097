"""Routes for admins: cameras and gateways."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.api.contract import Auth
from chalicelib.api.http import api_route
from chalicelib.domain.catalog import Camera, Gateway, NewCamera, NewGateway
from chalicelib.domain.principal import Principal
from chalicelib.services.registry import CreatedGateway, GatewayList, GatewayView

admin_api = Blueprint(__name__)


@api_route(
    admin_api,
    "/sites/{site}/cameras",
    method="POST",
    summary="Add a camera (admin)",
    auth=Auth.OFFICIAL,
    body=NewCamera,
    answer=Camera,
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
    body=NewGateway,
    answer=CreatedGateway,
    status=201,
)
def add_gateway(principal: Principal, body: NewGateway) -> CreatedGateway:
    return wiring.registry().add_gateway(principal, body, wiring.now())


@api_route(
    admin_api,
    "/gateways/{gateway_id}/revocation",
    method="POST",
    summary="Revoke a gateway at once (admin)",
    auth=Auth.OFFICIAL,
    answer=GatewayView,
)
def revoke_gateway(principal: Principal, gateway_id: str) -> Gateway:
    return wiring.registry().revoke_gateway(principal, gateway_id, wiring.now())


@api_route(
    admin_api,
    "/gateways",
    summary="Gateways of the caller's sites with their health and silent cameras (admin)",
    auth=Auth.OFFICIAL,
    answer=GatewayList,
)
def list_gateways(principal: Principal) -> GatewayList:
    return wiring.registry().gateways(principal, wiring.now())
