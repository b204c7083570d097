"""Routes declared with their contract; requests parsed and answers checked against it; errors as JSON.

The one mapping from errors to answers is here, and so is the auditing of refusals.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.authorizers import gateway_auth, official_auth
from chalicelib.api.contract import Auth, Contract, ModelName, register_contract
from chalicelib.domain.principal import Principal
from chalicelib.errors import AccessRefused, ArchiveError, InvalidRequest
from chalicelib.observability import logger

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

MAX_BODY_BYTES = 64 * 1024
MAX_PATH_PARAMETER = 256
_AUTHORIZERS = {Auth.OFFICIAL: official_auth, Auth.GATEWAY: gateway_auth}


@dataclass(frozen=True)
class WithStatus:
    """An answer whose status is not the route's usual one (e.g. 200 for a repeated registration): one of those
    its contract declares in `also`."""

    value: Any
    status: int


type Headers = dict[str, str | list[str]]


def security_headers() -> Headers:
    """On every answer: nothing sniffed, nothing framed, no Referer (signed URLs must not leak through it)."""
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


_JSON_HEADERS: Headers = {
    "Content-Type": "application/json",
    # Answers carry signed URLs and personal data: never kept by a browser or proxy cache.
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def error_response(status: int, code: str, message: str) -> Response:
    return json_response({"error": code, "message": message}, status)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=_JSON_HEADERS | security_headers())


def errors_as_ours(response: Response) -> Response:
    """Chalice's own refusals (405 for an undeclared method, 415 for a body that is not JSON, ...) come as
    `{"Code", "Message"}`: the same answer as `{"error", "message"}`, like every other error of the API."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code", "Message"}:
        return response
    code = re.sub(r"(?<!^)(?=[A-Z])", "_", str(body["Code"])).lower().removesuffix("_error")
    answer = error_response(response.status_code, code, str(body["Message"]))
    answer.headers = dict(response.headers) | answer.headers
    return answer


def principal_of(request: Request) -> Principal | None:
    context = (request.context or {}).get("authorizer") or {}
    return Principal.from_context(context) if "role" in context else None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_body[Model: BaseModel](request: Request, model: type[Model]) -> Model:
    """The JSON body as `model`, or a 400 that says what is wrong."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidRequest(f"the body may be at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw or b"{}", parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise InvalidRequest("the body is nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("the body is not valid JSON") from exc
    return _validated(model, data, "body")


def parse_query[Model: BaseModel](request: Request, model: type[Model]) -> Model:
    return _validated(model, dict(request.query_params or {}), "query")


def _validated[Model: BaseModel](model: type[Model], data: Any, where: str) -> Model:
    from pydantic import ValidationError  # pydantic is imported by the first request, not by import app

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc, where)) from exc


def _describe(exc: ValidationError, where: str) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in err['loc']) or where}: {err['msg']}" for err in exc.errors()[:5])


def _path_parameters(params: dict[str, Any]) -> dict[str, str]:
    for name, value in params.items():
        if not isinstance(value, str) or not value or len(value) > MAX_PATH_PARAMETER:
            raise InvalidRequest(f"path parameter {name} must be 1 to {MAX_PATH_PARAMETER} characters")
        if not value.isprintable():
            raise InvalidRequest(f"path parameter {name} holds a control character")
    return params


def _arguments(contract: Contract, request: Request, params: dict[str, Any], wanted: set[str]) -> dict[str, Any]:
    arguments: dict[str, Any] = dict(_path_parameters(params))
    if contract.auth is not None and "principal" in wanted:
        principal = principal_of(request)
        if principal is None:  # only reachable if the authorizer did not run
            raise AccessRefused("no credentials", action="authenticate", site="")
        arguments["principal"] = principal
    if contract.body is not None and "read_body" in wanted:
        model = contract.body
        arguments["read_body"] = lambda: parse_body(request, model)  # the view reads it when it may judge it
    elif contract.body is not None:
        arguments["body"] = parse_body(request, contract.body)
    if contract.query is not None:
        arguments["query"] = parse_query(request, contract.query)
    return arguments


def _answer(contract: Contract, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status = contract.status
    if isinstance(result, WithStatus):
        result, status = result.value, result.status
    if contract.answer_type is None:
        return Response(body="", status_code=status, headers=security_headers())
    adapter = contract.answer_adapter
    # Validated against the declared answer: a field the contract does not name never leaves the archive.
    checked = adapter.validate_python(result, from_attributes=True)
    return json_response(adapter.dump_python(checked, mode="json"), status)


def _audit_refusal(request: Request, refusal: AccessRefused) -> None:
    wiring.audit_log().record_refusal(
        principal_of(request), refusal, wiring.now(), asked=f"{request.method} {request.path}"
    )


def api_route(
    blueprint: Blueprint,
    path: str,
    *,
    summary: str,
    method: str = "GET",
    auth: Auth | None = None,
    body: ModelName | None = None,
    query: ModelName | None = None,
    answer: ModelName | type | None = None,
    status: int = 200,
    also: dict[int, str] | None = None,
    errors: tuple[int, ...] = (),
    media_type: str = "application/json",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route with its contract. The view receives its path parameters and, as it asks for them,
    `principal`, `body` (parsed as `body`; or `read_body`, which parses it when called) and `query` (parsed as
    `query`); what it returns is checked against `answer`. Models are named (`"package.module:Model"`) and
    imported on the route's first request (contract.py says why). Errors become JSON answers; refusals are audited
    here, once. `status` is the usual success, `also` the others with what each means, `errors` the error
    statuses beyond those the route's inputs and auth imply: an answer with any other status is logged as an
    error (and still given), so the document is completed where it misses one."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        contract = Contract(
            view.__name__,
            method,
            path,
            summary,
            auth,
            body,
            query,
            answer,
            status,
            errors,
            media_type,
            tuple((also or {}).items()),
        )
        register_contract(contract)
        wanted = set(inspect.signature(view).parameters)

        @functools.wraps(view)
        def answer_request(**params: Any) -> Response:
            request = blueprint.current_request
            try:
                answered = _answer(contract, view(**_arguments(contract, request, params, wanted)))
            except AccessRefused as refusal:
                _audit_refusal(request, refusal)
                answered = error_response(refusal.status, refusal.code, refusal.message)
            except ArchiveError as error:
                answered = error_response(error.status, error.code, error.message)
            except Exception:
                logger.exception("unhandled error", extra={"route": f"{method} {path}"})
                return error_response(500, "internal_error", "the archive could not answer; try again later")
            if not contract.declares(answered.status_code):
                # A gap in the document, not the caller's fault: they get the true answer, and the error log (and
                # schemathesis's status check in the tests) says which route's contract to complete.
                logger.error(
                    "an answer its contract does not declare",
                    extra={"route": f"{method} {path}", "status": answered.status_code},
                )
            return answered

        authorizer = _AUTHORIZERS[auth] if auth else None
        blueprint.route(path, methods=[method], authorizer=authorizer)(answer_request)
        return view

    return register
