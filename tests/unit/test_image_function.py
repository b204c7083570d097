"""The local Lambda Runtime API (local/image_function.py) as a runtime interface client uses it: the long poll
for the next event, then the event's response or error, or an error at start."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local.image_function import API, FunctionError, RuntimeApi, container_environment


@pytest.fixture
def runtime() -> Iterator[RuntimeApi]:
    api = RuntimeApi("arn:aws:lambda:eu-north-1:000000000000:function:find-tracks")
    yield api
    api.close()


def _post(runtime: RuntimeApi, path: str, body: bytes) -> int:
    request = urllib.request.Request(f"http://{runtime.address}{API}/{path}", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server on 127.0.0.1
        return int(answer.status)


def _serve_one(runtime: RuntimeApi, answer: str, body: bytes) -> dict[str, Any]:
    """What a runtime client does once: take the next event, post `answer` (response or error) for it."""
    seen: dict[str, Any] = {}

    def client() -> None:
        with urllib.request.urlopen(f"http://{runtime.address}{API}/invocation/next", timeout=10) as next_event:  # noqa: S310
            seen["event"] = json.loads(next_event.read())
            seen["headers"] = dict(next_event.headers)
        _post(runtime, f"invocation/{seen['headers']['Lambda-Runtime-Aws-Request-Id']}/{answer}", body)

    threading.Thread(target=client, daemon=True).start()
    return seen


def test_an_event_reaches_the_runtime_and_its_response_comes_back(runtime: RuntimeApi) -> None:
    seen = _serve_one(runtime, "response", json.dumps({"batchItemFailures": []}).encode())
    assert runtime.invoke({"Records": [{"messageId": "m-1"}]}, timeout_s=10) == {"batchItemFailures": []}
    assert seen["event"] == {"Records": [{"messageId": "m-1"}]}
    assert seen["headers"]["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:find-tracks")
    assert int(seen["headers"]["Lambda-Runtime-Deadline-Ms"]) > 0


def test_a_function_error_is_raised_with_what_the_runtime_reported(runtime: RuntimeApi) -> None:
    _serve_one(runtime, "error", b'{"errorType": "InvalidVideo", "errorMessage": "no video stream"}')
    with pytest.raises(FunctionError, match="no video stream"):
        runtime.invoke({"Records": []}, timeout_s=10)


def test_a_function_that_fails_to_start_fails_the_invocation(runtime: RuntimeApi) -> None:
    assert _post(runtime, "init/error", b'{"errorType": "ImportModuleError"}') == 202
    with pytest.raises(FunctionError, match="ImportModuleError"):
        runtime.invoke({"Records": []}, timeout_s=10)


def test_an_answer_for_no_running_invocation_is_refused(runtime: RuntimeApi) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        _post(runtime, "invocation/not-a-request/response", b"{}")
    assert refused.value.code == 400


def test_the_container_sees_the_functions_variables_and_nothing_else_of_the_host() -> None:
    host = {"AWS_REGION": "eu-north-1", "SAFE_CLIPS_TABLE": "clips", "PYTHONPATH": "/work/main", "HOME": "/root"}
    inside = container_environment(host, "find-tracks", "127.0.0.1:9001")
    assert inside["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9001"
    assert inside["SAFE_CLIPS_TABLE"] == "clips"
    assert "PYTHONPATH" not in inside
    assert "HOME" not in inside
