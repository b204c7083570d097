"""The API locally: `chalice local`'s server, answering for API Gateway as the template says it does, and
writing the access log API Gateway writes on AWS.

What API Gateway answers itself (no credentials, refused credentials, no route for the method and path) is
answered here from the template's GatewayResponses (infra/gateway_responses.py), never with chalice local's
or http.server's own bodies: a method a path does not declare is "no route", as on AWS.

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
from http import HTTPStatus
from pathlib import Path
from typing import Any, TextIO

from chalice.cli.factory import CLIFactory
from chalice.deploy.validate import validate_routes
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalDevServer,
    LocalGatewayException,
    NotAuthorizedError,
    RouteMatcher,
)

from infra import gateway_responses
from local.deploy import load_template

ROOT = Path(__file__).resolve().parent.parent
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z.]+)")


NO_ROUTE = "MISSING_AUTHENTICATION_TOKEN"
# `$context.error.messageString` of the answers API Gateway gives itself.
_GATEWAY_MESSAGES = {
    "UNAUTHORIZED": "Unauthorized",
    "ACCESS_DENIED": "User is not authorized to access this resource",
    NO_ROUTE: "Missing Authentication Token",
    "AUTHORIZER_FAILURE": "Internal server error",
}


def _rest_api() -> dict[str, Any]:
    properties: dict[str, Any] = load_template()["Resources"]["RestAPI"]["Properties"]
    return properties


def access_log_format() -> str:
    return str(_rest_api()["AccessLogSetting"]["Format"])


def response_type(error: LocalGatewayException) -> str:
    """What API Gateway's `$context.error.responseType` says for chalice local's own answers."""
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, InvalidAuthorizerError):
        return "AUTHORIZER_FAILURE"
    if isinstance(error, ForbiddenError) and b"not authorized" in (error.body or b""):
        return "ACCESS_DENIED"
    return NO_ROUTE  # chalice local's answer for a path no route matches


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
        # A request line http.server refused leaves no path or method behind.
        path, method = getattr(handler, "path", ""), handler.command or "-"
        try:
            resource = self._routes.match_route(path.split("?", 1)[0]).route if path else "-"
        except ValueError:
            resource = "-"
        line = render(
            self._format,
            {
                "requestTimeEpoch": str(int(time.time() * 1000)),
                "identity.sourceIp": handler.client_address[0],
                "httpMethod": method,
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
    routes: dict[str, dict[str, Any]]
    matcher: RouteMatcher
    answers: dict[str, Any]  # the template's GatewayResponses
    error_type = ""
    # One request at a time, as one Lambda container serves them: the app keeps one boto3 resource per
    # table, and resources are not thread-safe (two requests building key conditions at once swapped their
    # attribute placeholders: "Query condition missed key schema element"). Other requests wait their turn.
    one_at_a_time = threading.Lock()

    def _generic_handle(self) -> None:
        with self.one_at_a_time:
            if self._declared():
                super()._generic_handle()
            else:
                self._parse_payload()  # read the body, so that the connection's next request starts clean
                self._send_gateway_answer(NO_ROUTE, 403)

    # The base class binds its own _generic_handle to these names: bound again, or the override is never called.
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _declared(self) -> bool:
        """Does a route declare this method for this path? (API Gateway sends nothing else to the function.)"""
        try:
            route = self.matcher.match_route(self.path.split("?", 1)[0]).route
        except ValueError:
            return False
        return self.command in self.routes[route]

    def _send_error_response(self, error: LocalGatewayException) -> None:
        self._send_gateway_answer(response_type(error), error.CODE)

    def _send_gateway_answer(self, kind: str, status: int) -> None:
        self.error_type = kind
        code, body = gateway_responses.render(self.answers, kind, status, _GATEWAY_MESSAGES.get(kind, kind))
        self._send_http_response(code, {"Content-Type": "application/json"}, None if self.command == "HEAD" else body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a method it has no handler for, a malformed request line) in JSON, as
        API Gateway would answer them, instead of its HTML page."""
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method such as TRACE: no route declares it
            self._send_gateway_answer(NO_ROUTE, 403)
            return
        self.error_type = HTTPStatus(code).name  # answered by its family's gateway response (DEFAULT_4XX/5XX)
        phrase = message or HTTPStatus(code).phrase
        status, body = gateway_responses.render(self.answers, self.error_type, code, phrase)
        self.close_connection = True
        self.send_response(status, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.access_log.write(self, str(code))
        super().log_request(code, size)  # the request line, as `chalice local` prints it (redacted on its way)
        self.error_type = ""  # the connection may carry another request


def serve(stage: str, host: str, port: int, access_log: TextIO) -> None:
    factory = CLIFactory(project_dir=str(ROOT), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    app: Any = config.chalice_app
    validate_routes(app.routes)
    handler = type(
        "Handler",
        (AccessLoggingHandler,),
        {
            "access_log": AccessLog(access_log, list(app.routes)),
            "routes": app.routes,
            "matcher": RouteMatcher(list(app.routes)),
            "answers": _rest_api()["GatewayResponses"],
        },
    )
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
