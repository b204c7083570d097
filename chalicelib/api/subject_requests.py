"""Routes for subject access requests (dpo)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import official_auth
from chalicelib.api.http import api_route, current_principal, json_response, parse_body, required_query_text
from chalicelib.domain.subject_requests import Closing, ExportRequest, Extension, NewSubjectRequest

subject_requests_api = Blueprint(__name__)


@api_route(subject_requests_api, "/subject-requests", methods=("POST",), authorizer=official_auth)
def open_subject_request() -> Response:
    new = parse_body(subject_requests_api.current_request, NewSubjectRequest)
    request = wiring.subject_access().open(current_principal(subject_requests_api), new, wiring.now())
    return json_response(request.model_dump(mode="json"), 201)


@api_route(subject_requests_api, "/subject-requests", authorizer=official_auth)
def overdue_subject_requests() -> Response:
    site = required_query_text(subject_requests_api.current_request, "site")
    overdue = wiring.subject_access().overdue(current_principal(subject_requests_api), site, wiring.now())
    return json_response({"overdue": [request.model_dump(mode="json") for request in overdue]})


@api_route(subject_requests_api, "/subject-requests/{request_id}", authorizer=official_auth)
def read_subject_request(request_id: str) -> Response:
    principal = current_principal(subject_requests_api)
    return json_response(wiring.subject_access().request(principal, request_id, wiring.now()))


@api_route(
    subject_requests_api, "/subject-requests/{request_id}/extension", methods=("POST",), authorizer=official_auth
)
def extend_subject_request(request_id: str) -> Response:
    extension = parse_body(subject_requests_api.current_request, Extension)
    principal = current_principal(subject_requests_api)
    return json_response(
        wiring.subject_access().extend(principal, request_id, extension, wiring.now()).model_dump(mode="json")
    )


@api_route(subject_requests_api, "/subject-requests/{request_id}/close", methods=("POST",), authorizer=official_auth)
def close_subject_request(request_id: str) -> Response:
    closing = parse_body(subject_requests_api.current_request, Closing)
    principal = current_principal(subject_requests_api)
    return json_response(
        wiring.subject_access().close(principal, request_id, closing, wiring.now()).model_dump(mode="json")
    )


@api_route(subject_requests_api, "/subject-requests/{request_id}/exports", methods=("POST",), authorizer=official_auth)
def export_footage(request_id: str) -> Response:
    wanted = parse_body(subject_requests_api.current_request, ExportRequest)
    principal = current_principal(subject_requests_api)
    export = wiring.subject_access().export(principal, request_id, wanted, wiring.now())
    return json_response(export.model_dump(mode="json", exclude={"object_key"}), 202)


@api_route(subject_requests_api, "/subject-requests/{request_id}/exports/{export_id}", authorizer=official_auth)
def export_status(request_id: str, export_id: str) -> Response:
    principal = current_principal(subject_requests_api)
    return json_response(wiring.subject_access().export_status(principal, request_id, export_id, wiring.now()))
