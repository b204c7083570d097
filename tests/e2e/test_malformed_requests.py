"""Malformed requests get a clear 4xx in JSON, never a 500: empty path segments, JSON the parser should refuse."""

from __future__ import annotations

import urllib.request

import pytest

from local.api_client import Answer

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
