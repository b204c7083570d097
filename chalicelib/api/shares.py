"""Routes for shares: investigators request, the dpo approves, the recipient's link serves the manifest."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import official_auth
from chalicelib.api.http import api_route, current_principal, json_response, parse_body
from chalicelib.domain.shares import NewShare

shares_api = Blueprint(__name__)


@api_route(shares_api, "/shares", methods=("POST",), authorizer=official_auth)
def request_share() -> Response:
    new = parse_body(shares_api.current_request, NewShare)
    share = wiring.shares().request(current_principal(shares_api), new, wiring.now())
    return json_response(share.public_view(), 201)


@api_route(shares_api, "/shares/{share_id}", authorizer=official_auth)
def read_share(share_id: str) -> Response:
    return json_response(wiring.shares().share(current_principal(shares_api), share_id).public_view())


@api_route(shares_api, "/shares/{share_id}/approval", methods=("POST",), authorizer=official_auth)
def approve_share(share_id: str) -> Response:
    return json_response(wiring.shares().approve(current_principal(shares_api), share_id, wiring.now()))


@api_route(shares_api, "/shares/{share_id}/revocation", methods=("POST",), authorizer=official_auth)
def revoke_share(share_id: str) -> Response:
    share = wiring.shares().revoke(current_principal(shares_api), share_id, wiring.now())
    return json_response(share.public_view())


@api_route(shares_api, "/s/{token}")
def use_share(token: str) -> Response:
    return json_response(wiring.shares().use(token, wiring.now()))
