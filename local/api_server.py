"""The API locally: `chalice local`'s server, also writing the access log API Gateway writes on AWS.

API Gateway answers a request without credentials (401) or one its authorizer refuses (403) itself and
only logs it; the archive counts those refusals from that log (chalicelib/domain/refusals.py). Here each
request is logged in the format of infra/template.yaml's RestAPI AccessLogSetting, into a file local/jobs.py
hands to the same CountRefusals handler. Paths are logged as their route templates, never as sent.

    python -m local.api_server --stage local --host 127.0.0.1 --port 8000 --access-log FILE
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGatewayException,
    NotAuthorizedError,
    RouteMatcher,
)

from local.deploy import load_template

ROOT = Path(__file__).resolve().parent.parent
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z.]+)")


def access_log_format() -> str:
    return str(load_template()["Resources"]["RestAPI"]["Properties"]["AccessLogSetting"]["Format"])


def response_type(error: LocalGatewayException) -> str:
    """What API Gateway's `$context.error.responseType` says for chalice local's own answers."""
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, ForbiddenError) and b"not authorized" in (error.body or b""):
        return "ACCESS_DENIED"
    return "MISSING_AUTHENTICATION_TOKEN"  # chalice local's answer for a path no route matches


def render(template: str, values: dict[str, str]) -> str:
    """The format with each `$context.x` replaced (JSON-escaped: every one stands inside quotes)."""
    return _CONTEXT_VARIABLE.sub(lambda match: json.dumps(values.get(match.group(1), ""))[1:-1], template)


class AccessLog:
    def __init__(self, stream: TextIO, routes: list[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._format = access_log_format()
        self._routes = RouteMatcher(routes)

    def write(self, handler: AccessLoggingHandler, status: str) -> None:
        try:
            resource = self._routes.match_route(handler.path).route
        except ValueError:
            resource = "-"
        line = render(
            self._format,
            {
                "requestTimeEpoch": str(int(time.time() * 1000)),
                "identity.sourceIp": handler.client_address[0],
                "httpMethod": handler.command,
                "resourcePath": resource,
                "status": status,
                "error.responseType": handler.error_type,
                "requestId": str(uuid.uuid4()),
            },
        )
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


class AccessLoggingHandler(ChaliceRequestHandler):
    access_log: AccessLog
    error_type = ""
    # One request at a time, as one Lambda container serves them: the app keeps one boto3 resource per
    # table, and resources are not thread-safe (two requests building key conditions at once swapped their
    # attribute placeholders: "Query condition missed key schema element"). Other requests wait their turn.
    one_at_a_time = threading.Lock()

    def _generic_handle(self) -> None:
        with self.one_at_a_time:
            super()._generic_handle()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        self.error_type = response_type(error)
        super()._send_error_response(error)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.access_log.write(self, str(code))
        self.error_type = ""  # the connection may carry another request


def serve(stage: str, host: str, port: int, access_log: TextIO) -> None:
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app: Any = config.chalice_app
    validate_routes(app.routes)
    handler = type("Handler", (AccessLoggingHandler,), {"access_log": AccessLog(access_log, list(app.routes))})
    LocalDevServer(app, config, host, port, handler_cls=handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--access-log", type=Path, required=True, help="file the access log is appended to")
    arguments = parser.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")  # as `chalice local` does
    descriptor = os.open(arguments.access_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as access_log:
        serve(arguments.stage, arguments.host, arguments.port, access_log)


if __name__ == "__main__":
    main()
