"""Routes for gateways: register clips, ask after them, heartbeat."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import gateway_auth
from chalicelib.api.http import api_route, current_principal, json_response, parse_body
from chalicelib.domain.clips import Registration
from chalicelib.domain.gaps import DropReport
from chalicelib.services.intake import Heartbeat, gateway_clip_view

gateway_api = Blueprint(__name__)


@api_route(gateway_api, "/gateway/clips", methods=("POST",), authorizer=gateway_auth)
def register_clip() -> Response:
    request = gateway_api.current_request
    result = wiring.intake().register(current_principal(gateway_api), parse_body(request, Registration), wiring.now())
    body: dict[str, Any] = gateway_clip_view(result.clip, result.received)
    body["upload"] = dataclasses.asdict(result.upload) if result.upload else None
    return json_response(body, 201 if result.created else 200)


@api_route(gateway_api, "/gateway/clips/{clip_id}", authorizer=gateway_auth)
def clip_state(clip_id: str) -> Response:
    return json_response(wiring.intake().gateway_report(current_principal(gateway_api), clip_id))


@api_route(gateway_api, "/gateway/clips/{clip_id}/multipart", methods=("POST",), authorizer=gateway_auth)
def start_multipart(clip_id: str) -> Response:
    return json_response(wiring.intake().multipart(current_principal(gateway_api), clip_id, wiring.now()))


@api_route(gateway_api, "/gateway/clips/{clip_id}/multipart/complete", methods=("POST",), authorizer=gateway_auth)
def complete_multipart(clip_id: str) -> Response:
    return json_response(wiring.intake().complete_multipart(current_principal(gateway_api), clip_id))


@api_route(gateway_api, "/gateway/drops", methods=("POST",), authorizer=gateway_auth)
def report_drops() -> Response:
    report = parse_body(gateway_api.current_request, DropReport)
    wiring.intake().report_drops(current_principal(gateway_api), report, wiring.now())
    return Response(body="", status_code=204)


@api_route(gateway_api, "/gateway/heartbeat", methods=("POST",), authorizer=gateway_auth)
def heartbeat() -> Response:
    beat = parse_body(gateway_api.current_request, Heartbeat)
    wiring.intake().heartbeat(current_principal(gateway_api), beat, wiring.now())
    return Response(body="", status_code=204)
