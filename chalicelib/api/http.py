"""Request parsing and the one mapping from errors to JSON answers (and refusals to the audit trail)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib import wiring
from chalicelib.domain.audit import Outcome
from chalicelib.domain.principal import Principal
from chalicelib.domain.query import Window
from chalicelib.domain.timeutil import parse_time
from chalicelib.errors import AccessRefused, ArchiveError, InvalidRequest
from chalicelib.observability import logger

MAX_BODY_BYTES = 64 * 1024


def error_response(status: int, code: str, message: str) -> Response:
    return Response(body={"error": code, "message": message}, status_code=status)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def principal_of(request: Request) -> Principal | None:
    context = (request.context or {}).get("authorizer") or {}
    return Principal.from_context(context) if "role" in context else None


def parse_body[Model: BaseModel](request: Request, model: type[Model]) -> Model:
    """The JSON body as `model`, or a 400 that says what is wrong."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest(f"the body may be at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("the body is not valid JSON") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()[:5]
    )


def query_window(request: Request, now: datetime, default_span: timedelta) -> Window:
    params = dict(request.query_params or {})
    try:
        end = parse_time(params["to"]) if "to" in params else now
        start = parse_time(params["from"]) if "from" in params else end - default_span
    except ValueError as exc:
        raise InvalidRequest(f"from/to: {exc}") from exc
    return Window(start=start, end=end)


def query_int(request: Request, name: str, default: int) -> int:
    value = query_text(request, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidRequest(f"{name} must be a whole number") from exc


def query_text(request: Request, name: str) -> str | None:
    params = dict(request.query_params or {})
    return params.get(name)


def required_query_text(request: Request, name: str) -> str:
    value = query_text(request, name)
    if not value:
        raise InvalidRequest(f"query parameter {name} is required")
    return value


def api_route(
    blueprint: Blueprint, path: str, *, methods: tuple[str, ...] = ("GET",), **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`blueprint.route` whose view errors become JSON answers; refusals are audited here, once."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answer(**params: Any) -> Any:
            request = blueprint.current_request
            try:
                return view(**params)
            except AccessRefused as refusal:
                wiring.audit_log().record(
                    principal_of(request),
                    refusal.action,
                    refusal.site,
                    refusal.target or f"{request.method} {request.path}",
                    Outcome.REFUSED,
                    wiring.now(),
                    reason=refusal.message,
                )
                return error_response(refusal.status, refusal.code, refusal.message)
            except ArchiveError as error:
                return error_response(error.status, error.code, error.message)
            except Exception:
                logger.exception("unhandled error", extra={"path": request.path})
                return error_response(500, "internal_error", "the archive could not answer; try again later")

        blueprint.route(path, methods=list(methods), **options)(answer)
        return view

    return register


def current_principal(blueprint: Blueprint) -> Principal:
    principal = principal_of(blueprint.current_request)
    if principal is None:  # only reachable if a route were registered without an authorizer
        raise AccessRefused("no credentials", action="authenticate", site="")
    return principal
