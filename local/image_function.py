"""A container-image function run locally as Lambda runs it: the image's own entrypoint and command (its
Runtime Interface Client) in a container (podman, host network), handed each batch of its SQS queue through
the Lambda Runtime API, which this module serves. One warm execution environment, started once; the queue is
drained as local/jobs.py drains the others (receive, invoke, delete what the function did not report failed).

    python -m local.image_function --image localhost/safe-society-redaction --queue URL --name find-tracks

The container sees only what Lambda would give the function: the AWS_*, SAFE_* and POWERTOOLS_* variables of
this process (the local stack's function environment) and the Runtime API's address.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.observability import logger
from local.jobs import drain_into

API = "/2018-06-01/runtime"
# The redaction function's Timeout in infra/template.yaml: an invocation gets no longer.
INVOCATION_TIMEOUT_S = 900
_PASSED_ON = ("AWS_", "SAFE_", "POWERTOOLS_")
_LOOK_AGAIN_S = 0.5


class FunctionError(RuntimeError):
    """The function failed an invocation (or its start): what its runtime reported."""


@dataclass
class _Invocation:
    request_id: str
    event: bytes
    answered: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""  # "response" or "error"
    body: bytes = b""


class RuntimeApi:
    """The Runtime API of one execution environment: `invoke` queues an event for the runtime's long poll
    (GET …/invocation/next) and waits for what it posts back (…/response or …/error)."""

    def __init__(self, function_arn: str) -> None:
        self._function_arn = function_arn
        self._pending: queue.Queue[_Invocation] = queue.Queue()
        self._running: dict[str, _Invocation] = {}
        self._init_error: bytes | None = None
        self._closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def invoke(self, event: dict[str, Any], timeout_s: float = INVOCATION_TIMEOUT_S) -> Any:
        invocation = _Invocation(str(uuid.uuid4()), json.dumps(event).encode())
        self._pending.put(invocation)
        deadline = time.monotonic() + timeout_s
        while not invocation.answered.wait(_LOOK_AGAIN_S):
            if self._init_error is not None:
                raise FunctionError(f"the function did not start: {self._init_error.decode(errors='replace')}")
            if self._closed.is_set() or time.monotonic() > deadline:
                raise FunctionError(f"no answer within {timeout_s:.0f} s")
        if invocation.outcome == "error":
            raise FunctionError(invocation.body.decode(errors="replace"))
        return json.loads(invocation.body or b"null")

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> _Invocation | None:
        while not self._closed.is_set():
            with contextlib.suppress(queue.Empty):
                invocation = self._pending.get(timeout=_LOOK_AGAIN_S)
                self._running[invocation.request_id] = invocation
                return invocation
        return None

    def _answer(self, request_id: str, outcome: str, body: bytes) -> bool:
        invocation = self._running.pop(request_id, None)
        if invocation is None:
            return False
        invocation.outcome, invocation.body = outcome, body
        invocation.answered.set()
        return True

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return  # the function's own log says what happened

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path != f"{API}/invocation/next":
                    self._reply(404)
                    return
                invocation = api._next()
                if invocation is None:
                    self._reply(410)
                    return
                self.send_response(200)
                deadline_ms = int((time.time() + INVOCATION_TIMEOUT_S) * 1000)
                self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", api._function_arn)
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(invocation.event)))
                self.end_headers()
                self.wfile.write(invocation.event)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.removeprefix(f"{API}/").split("/")
                if parts == ["init", "error"]:
                    api._init_error = body
                    self._reply(202)
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    self._reply(202 if api._answer(parts[1], parts[2], body) else 400)
                else:
                    self._reply(404)

            def _reply(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def container_environment(environment: dict[str, str], function_name: str, runtime_api: str) -> dict[str, str]:
    """What the function sees in its container: the variables Lambda sets, and the function's own."""
    return {key: value for key, value in environment.items() if key.startswith(_PASSED_ON)} | {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "4096",
    }


def run(image: str, queue_url: str, name: str) -> None:
    """Start the image's container and drain the queue into it, until SIGTERM; the container goes with it."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime = RuntimeApi(f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'eu-north-1')}:000000000000:function:{name}")
    inside = container_environment(dict(os.environ), name, runtime.address)
    # Values by name only (podman takes them from its own environment): no credential in the process list.
    command = ["podman", "run", "--rm", "--name", name, "--network", "host", *(f"--env={key}" for key in inside), image]
    subprocess.run(["podman", "rm", "--force", "--ignore", name], check=False, capture_output=True)  # noqa: S607
    container = subprocess.Popen(command, env=os.environ | inside)  # noqa: S603 - our own image, our own variables
    worker = threading.Thread(
        target=drain_into, args=(name, lambda event, _context: runtime.invoke(event), queue_url, stop), daemon=True
    )
    worker.start()
    logger.info("image function running", extra={"image": image, "container": name, "runtime_api": runtime.address})
    try:
        while not stop.wait(_LOOK_AGAIN_S):
            if container.poll() is not None:
                logger.error("the function's container exited", extra={"returncode": container.returncode})
                raise SystemExit(1)
    finally:
        subprocess.run(["podman", "rm", "--force", "--time", "2", name], check=False, capture_output=True)  # noqa: S607
        try:
            container.wait(timeout=30)
        except subprocess.TimeoutExpired:
            container.kill()
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", required=True, help="the function's image, as podman names it")
    parser.add_argument("--queue", required=True, help="the URL of the queue that feeds it")
    parser.add_argument("--name", required=True, help="the function's name, also its container's")
    arguments = parser.parse_args()
    run(arguments.image, arguments.queue, arguments.name)


if __name__ == "__main__":
    main()
