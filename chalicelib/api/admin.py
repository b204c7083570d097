"""Routes for admins: cameras and gateways."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import official_auth
from chalicelib.api.http import api_route, current_principal, json_response, parse_body
from chalicelib.domain.catalog import NewCamera, NewGateway

admin_api = Blueprint(__name__)


@api_route(admin_api, "/sites/{site}/cameras", methods=("POST",), authorizer=official_auth)
def add_camera(site: str) -> Response:
    new = parse_body(admin_api.current_request, NewCamera)
    camera = wiring.registry().add_camera(current_principal(admin_api), site, new, wiring.now())
    return json_response(camera.model_dump(mode="json"), 201)


@api_route(admin_api, "/gateways", methods=("POST",), authorizer=official_auth)
def add_gateway() -> Response:
    new = parse_body(admin_api.current_request, NewGateway)
    return json_response(wiring.registry().add_gateway(current_principal(admin_api), new, wiring.now()), 201)


@api_route(admin_api, "/gateways/{gateway_id}/revocation", methods=("POST",), authorizer=official_auth)
def revoke_gateway(gateway_id: str) -> Response:
    gateway = wiring.registry().revoke_gateway(current_principal(admin_api), gateway_id, wiring.now())
    return json_response(gateway.public_view())


@api_route(admin_api, "/gateways", authorizer=official_auth)
def list_gateways() -> Response:
    return json_response({"gateways": wiring.registry().gateways(current_principal(admin_api), wiring.now())})
