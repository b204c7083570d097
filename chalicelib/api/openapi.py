"""The OpenAPI 3.1 document, generated from the routes' contracts and the pydantic models they use.

Imported when the document is first asked for (it imports every route's models), not by import app.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from chalicelib.api.contract import CONTRACTS, Auth, Contract

_REF = "#/components/schemas/{model}"
_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. invalid_request, forbidden, not_found"},
        "message": {"type": "string", "description": "what is wrong, in words"},
    },
}
_ERROR_MEANINGS = {
    400: "invalid request: the message says what is wrong",
    401: "no credentials",
    403: "refused: credentials not valid, or the rule does not allow it (audited)",
    404: "not found, or not yours to know of (audited where it hides a refusal)",
    409: "conflict with the current state: the message says which",
    410: "gone: the link was revoked or has expired",
    415: "unsupported media type: the body must be JSON (Content-Type: application/json)",
    503: "not available in this deployment: the message says what is missing",
}
_SECURITY_SCHEMES = {
    Auth.OFFICIAL: {"type": "http", "scheme": "bearer", "bearerFormat": "Cognito ID token (JWT)"},
    Auth.GATEWAY: {"type": "http", "scheme": "bearer", "bearerFormat": "<gateway_id>.<secret>"},
}

type SchemaKey = tuple[str, str, str]  # method, path, and which part of the operation


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` as a query parameter means "may be left out", not "may be the text null"."""
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key != "anyOf" and (key, value) != ("default", None)}
    return branches[0] | rest


def _query_parameters(query: type[BaseModel]) -> list[dict[str, Any]]:
    schema = query.model_json_schema(ref_template="{model}")
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", []))
    parameters = []
    for name, property_schema in schema["properties"].items():
        described = dict(_without_null(property_schema))
        if "$ref" in described:  # an enum: written out, as a parameter's schema stands alone
            described = definitions[described.pop("$ref")] | described
        if described.get("type") in ("object", "array"):
            raise TypeError(f"{query.__name__}.{name}: a query parameter must be a plain value")
        description = described.pop("description", None)
        described.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": described}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _error_responses(contract: Contract) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}
    return {
        str(code): {"description": _ERROR_MEANINGS[code], "content": error} for code in sorted(contract.error_statuses)
    }


def _success_responses(contract: Contract, schema: Any) -> dict[str, Any]:
    meanings = {contract.status: "success"} | dict(contract.also)
    responses: dict[str, Any] = {}
    for status, meaning in meanings.items():
        responses[str(status)] = {"description": meaning}
        if schema is not None:
            responses[str(status)]["content"] = {contract.media_type: {"schema": schema}}
    return responses


def _operation(contract: Contract, schemas: dict[tuple[SchemaKey, JsonSchemaMode], Any]) -> dict[str, Any]:
    key = (contract.method, contract.path)
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 256},
        }
        for name in re.findall(r"{(\w+)}", contract.path)
    ]
    if contract.query is not None:
        parameters += _query_parameters(contract.query)
    answer = schemas[((*key, "answer"), "serialization")] if contract.answer_type is not None else None
    operation: dict[str, Any] = {
        "operationId": contract.operation_id,
        "summary": contract.summary,
        "parameters": parameters,
        "responses": _success_responses(contract, answer) | _error_responses(contract),
    }
    if contract.auth is not None:
        operation["security"] = [{contract.auth.value: []}]
    if contract.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas[((*key, "body"), "validation")]}},
        }
    return operation


def _schema_inputs() -> list[tuple[SchemaKey, JsonSchemaMode, TypeAdapter[Any]]]:
    inputs: list[tuple[SchemaKey, JsonSchemaMode, TypeAdapter[Any]]] = []
    for contract in CONTRACTS.values():
        key = (contract.method, contract.path)
        if contract.body is not None:
            inputs.append(((*key, "body"), "validation", TypeAdapter(contract.body)))
        if contract.answer_type is not None:
            inputs.append(((*key, "answer"), "serialization", contract.answer_adapter))
    return inputs


@functools.cache
def _schemas() -> tuple[dict[tuple[SchemaKey, JsonSchemaMode], Any], dict[str, Any]]:
    schemas, definitions = TypeAdapter.json_schemas(_schema_inputs(), ref_template=_REF)
    return schemas, definitions.get("$defs", {})


@functools.cache
def openapi_document() -> dict[str, Any]:
    schemas, definitions = _schemas()
    paths: dict[str, dict[str, Any]] = {}
    for contract in sorted(CONTRACTS.values(), key=lambda c: (c.path, c.method)):
        paths.setdefault(contract.path, {})[contract.method.lower()] = _operation(contract, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Safe Society footage archive",
            "version": "1",
            "description": "Interreg LLI-457 'Safe society': footage archive for Aizkraukle and Biržai. "
            "Errors are always JSON {error, message}; times are ISO 8601 UTC.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR} | definitions,
            "securitySchemes": {auth.value: scheme for auth, scheme in _SECURITY_SCHEMES.items()},
        },
    }
