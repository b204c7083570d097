"""Malformed requests get a clear 4xx in JSON, never a 500: empty path segments, JSON the parser should refuse,
methods and paths no route declares, bodies that are not JSON, refused credentials, a broken request line."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from local.api_client import Answer, http

pytestmark = pytest.mark.e2e


def raw_post(url: str, body: bytes, token: str) -> Answer:
    request = urllib.request.Request(  # noqa: S310 - the local API
        url, data=body, method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return Answer(answer.status, answer.read(), {})
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), {})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/clips//view"),
        ("GET", "/public/sites//notice"),
        ("DELETE", "/cases//holds/x"),
        ("GET", "/subject-requests//exports/y"),
    ],
)
def test_an_empty_path_segment_is_a_400_not_a_500(official, method, path):
    answer = official("dpo", "aizkraukle").request(method, path, body={"purpose": "checking an empty id"})
    assert answer.status == 400, answer
    assert answer.body["error"] == "invalid_request"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_numbers_that_are_not_numbers_are_refused(archive, official, constant):
    token = official("dpo", "aizkraukle").token
    body = b'{"days": ' + constant + b', "justification": "a long enough reason"}'
    answer = raw_post(f"{archive.api_url}/clips/01ARZ3NDEKTSV4RRFFQ69G5FAV/erasure", body, token or "")
    assert answer.status == 400
    assert b"not valid JSON" in answer.body


def test_json_nested_ten_thousand_deep_is_refused(archive, official):
    token = official("dpo", "aizkraukle").token
    body = b'{"reason": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    answer = raw_post(f"{archive.api_url}/clips/01ARZ3NDEKTSV4RRFFQ69G5FAV/erasure", body, token or "")
    assert answer.status == 400
    assert b"nested too deeply" in answer.body


# ---- What API Gateway answers itself, answered locally from the template's gateway responses ---------------------

NO_ROUTE = {"error": "not_found", "message": "no such route: see /openapi.json for the methods and paths"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/route"),
        ("PATCH", "/health"),  # chalice's own answer: 405 {"Code", "Message"}; API Gateway: no route
        ("DELETE", "/sites"),
        ("TRACE", "/health"),  # http.server's own answer: an HTML 501 page
        ("CONNECT", "/health"),
        ("OPTIONS", "/sites"),
    ],
)
def test_a_method_and_path_no_route_declares_is_answered_as_api_gateway_does(archive, method, path):
    answer = http(method, f"{archive.api_url}{path}")
    assert (answer.status, answer.body) == (404, NO_ROUTE)
    assert answer.headers["Content-Type"] == "application/json"


def test_no_route_with_a_token_does_not_echo_the_token(archive):
    # chalice local (like API Gateway) quotes an Authorization header it cannot use back in its answer.
    answer = http("GET", f"{archive.api_url}/no/such/route", headers={"Authorization": "Bearer s3cr3t-t0ken"})
    assert (answer.status, answer.body) == (404, NO_ROUTE)


def test_a_body_that_is_not_json_is_a_json_415(archive, official):
    token = official("investigator", "aizkraukle").token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    answer = http("POST", f"{archive.api_url}/cases", headers=headers)
    assert answer.status == 415
    assert answer.body == {"error": "unsupported_media_type", "message": "Unsupported media type: text/plain"}


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [({}, 401, "unauthorized"), ({"Authorization": "Bearer not-a-token"}, 403, "credentials_rejected")],
)
def test_refused_credentials_are_json_errors(archive, headers, status, error):
    answer = http("GET", f"{archive.api_url}/sites", headers=headers)
    assert answer.status == status
    assert set(answer.body) == {"error", "message"}
    assert answer.body["error"] == error


def test_a_request_http_server_refuses_itself_is_a_json_error(archive):
    host, port = archive.api_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        headers = b"".join(b"X-Padding-%d: 1\r\n" % number for number in range(120))
        connection.sendall(b"GET /health HTTP/1.1\r\n" + headers + b"\r\n")
        reply = connection.makefile("rb").read()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")  # http.server's own answer is an HTML page
    assert b"Content-Type: application/json" in head
    assert json.loads(body) == {"error": "REQUEST_HEADER_FIELDS_TOO_LARGE", "message": "Too many headers"}


@pytest.mark.parametrize(
    ("progress", "status"),
    [
        ({"clock_offset_s": -1.1440993601615068e-282}, 204),  # found by schemathesis: DynamoDB's 500 once
        ({"oldest_pending_s": 1e200}, 400),
        ({"spool_bytes": 10**130}, 400),
        ({"cameras": {"aizkraukle-square": {"restarts": 10**130}}}, 400),
    ],
)
def test_heartbeat_numbers_beyond_what_the_table_keeps_are_rounded_or_refused(archive, progress, status):
    token = archive.gateways["aizkraukle"]["token"]
    answer = http("POST", f"{archive.api_url}/gateway/heartbeat", progress, {"Authorization": f"Bearer {token}"})
    assert answer.status == status, answer.body
