"""Routes for officials: sites, cameras, the clip index, signed views, the audit trail."""

from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import official_auth
from chalicelib.api.http import (
    api_route,
    current_principal,
    json_response,
    parse_body,
    query_int,
    query_text,
    query_window,
    required_query_text,
)
from chalicelib.services.footage import ViewRequest, clip_record

officials_api = Blueprint(__name__)
DEFAULT_SEARCH_SPAN = timedelta(hours=24)


@api_route(officials_api, "/sites", authorizer=official_auth)
def list_sites() -> Response:
    return json_response({"sites": wiring.footage().sites(current_principal(officials_api))})


@api_route(officials_api, "/sites/{site}/cameras", authorizer=official_auth)
def list_cameras(site: str) -> Response:
    cameras = wiring.footage().cameras(current_principal(officials_api), site)
    return json_response({"cameras": [camera.model_dump(mode="json") for camera in cameras]})


@api_route(officials_api, "/cameras/{camera_id}/clips", authorizer=official_auth)
def search_clips(camera_id: str) -> Response:
    request = officials_api.current_request
    now = wiring.now()
    page = wiring.footage().search(
        current_principal(officials_api),
        camera_id,
        query_window(request, now, DEFAULT_SEARCH_SPAN),
        query_int(request, "limit", 50),
        query_text(request, "cursor"),
        now,
    )
    return json_response(page)


@api_route(officials_api, "/cameras/{camera_id}/gaps", authorizer=official_auth)
def camera_gaps(camera_id: str) -> Response:
    window = query_window(officials_api.current_request, wiring.now(), DEFAULT_SEARCH_SPAN)
    gaps = wiring.footage().gaps(current_principal(officials_api), camera_id, window)
    return json_response({"gaps": [gap.model_dump(mode="json") for gap in gaps]})


@api_route(officials_api, "/clips/{clip_id}", authorizer=official_auth)
def get_clip(clip_id: str) -> Response:
    clip = wiring.footage().clip(current_principal(officials_api), clip_id, wiring.now())
    return json_response(clip_record(clip))


@api_route(officials_api, "/clips/{clip_id}/view", methods=("POST",), authorizer=official_auth)
def view_clip(clip_id: str) -> Response:
    request = officials_api.current_request
    return json_response(
        wiring.footage().view(
            current_principal(officials_api), clip_id, lambda: parse_body(request, ViewRequest), wiring.now()
        )
    )


@api_route(officials_api, "/audit/verify", authorizer=official_auth)
def verify_audit() -> Response:
    site = required_query_text(officials_api.current_request, "site")
    return json_response(wiring.audit_trail().verify(current_principal(officials_api), site, wiring.now()))


@api_route(officials_api, "/audit", authorizer=official_auth)
def read_audit() -> Response:
    request = officials_api.current_request
    now = wiring.now()
    page = wiring.audit_trail().events(
        current_principal(officials_api),
        required_query_text(request, "site"),
        query_window(request, now, DEFAULT_SEARCH_SPAN),
        query_int(request, "limit", 50),
        query_text(request, "cursor"),
        now,
    )
    return json_response(page)
