"""Routes for cases (legal holds)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.authorizers import official_auth
from chalicelib.api.http import api_route, current_principal, json_response, parse_body, required_query_text
from chalicelib.domain.cases import HoldRequest, NewCase
from chalicelib.services.cases import CloseRequest

cases_api = Blueprint(__name__)


@api_route(cases_api, "/cases", methods=("POST",), authorizer=official_auth)
def open_case() -> Response:
    new = parse_body(cases_api.current_request, NewCase)
    case = wiring.cases().open(current_principal(cases_api), new, wiring.now())
    return json_response(case.model_dump(mode="json"), 201)


@api_route(cases_api, "/cases", authorizer=official_auth)
def cases_due_for_review() -> Response:
    site = required_query_text(cases_api.current_request, "site")
    due = wiring.cases().due_for_review(current_principal(cases_api), site, wiring.now())
    return json_response({"due_for_review": [case.model_dump(mode="json") for case in due]})


@api_route(cases_api, "/cases/{case_id}", authorizer=official_auth)
def read_case(case_id: str) -> Response:
    return json_response(wiring.cases().case(current_principal(cases_api), case_id))


@api_route(cases_api, "/cases/{case_id}/holds", methods=("POST",), authorizer=official_auth)
def hold_clips(case_id: str) -> Response:
    request = parse_body(cases_api.current_request, HoldRequest)
    return json_response(wiring.cases().hold(current_principal(cases_api), case_id, request, wiring.now()))


@api_route(cases_api, "/cases/{case_id}/holds/{clip_id}", methods=("DELETE",), authorizer=official_auth)
def release_hold(case_id: str, clip_id: str) -> Response:
    return json_response(wiring.cases().release(current_principal(cases_api), case_id, clip_id, wiring.now()))


@api_route(cases_api, "/cases/{case_id}/close", methods=("POST",), authorizer=official_auth)
def close_case(case_id: str) -> Response:
    request = parse_body(cases_api.current_request, CloseRequest)
    case = wiring.cases().close(current_principal(cases_api), case_id, request, wiring.now())
    return json_response(case.model_dump(mode="json"))
