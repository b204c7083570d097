"""Routes for the dpo's retention policy and erasure, and the public notice."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import official_auth
from chalicelib.api.http import api_route, current_principal, json_response, parse_body
from chalicelib.domain.retention import RetentionChange
from chalicelib.services.governance import ErasureRequest

governance_api = Blueprint(__name__)


@api_route(governance_api, "/public/sites/{site}/notice")
def site_notice(site: str) -> Response:
    return json_response(wiring.governance().notice(site))


@api_route(governance_api, "/sites/{site}/retention", authorizer=official_auth)
def read_retention(site: str) -> Response:
    return json_response(wiring.governance().retention(current_principal(governance_api), site))


@api_route(governance_api, "/sites/{site}/retention", methods=("PUT",), authorizer=official_auth)
def set_retention(site: str) -> Response:
    change = parse_body(governance_api.current_request, RetentionChange)
    return json_response(
        wiring.governance().set_retention(current_principal(governance_api), site, change, wiring.now())
    )


@api_route(governance_api, "/clips/{clip_id}/erasure", methods=("POST",), authorizer=official_auth)
def erase_clip(clip_id: str) -> Response:
    request = parse_body(governance_api.current_request, ErasureRequest)
    return json_response(wiring.governance().erase(current_principal(governance_api), clip_id, request, wiring.now()))
