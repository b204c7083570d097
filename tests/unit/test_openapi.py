"""/openapi.json is a valid OpenAPI 3.1 document describing exactly the routes the app serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openapi_spec_validator import validate

from app import app
from chalicelib.api.contract import CONTRACTS
from chalicelib.api.openapi import openapi_document

PUBLIC = ("/", "/health", "/openapi.json", "/api-docs", "/share-manifest", "/auth/config")


def served_operations() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in openapi_document()["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_every_served_route_is_documented():
    assert served_operations() - set(CONTRACTS) == set()


def test_every_documented_route_is_served():
    assert set(CONTRACTS) - served_operations() == set()


def test_document_is_valid_openapi_3_1():
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_reference_resolves_inside_the_document():
    document = openapi_document()
    schemas = document["components"]["schemas"]
    for ref in set(refs(document)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_each_operation_carries_its_security():
    for method, path, operation in operations():
        security = operation.get("security")
        if path.startswith("/gateway/"):
            assert security == [{"gateway": []}], (method, path)
        elif path in PUBLIC or path.startswith(("/public/", "/console")):
            assert security is None, (method, path)
        else:
            assert security == [{"official": []}], (method, path)


def test_every_success_answer_with_a_body_has_a_schema():
    for method, path, operation in operations():
        success = [code for code in operation["responses"] if code.startswith(("2", "3"))]
        assert success, (method, path)
        for code in set(success) - {"204", "302"}:
            (schema,) = [media["schema"] for media in operation["responses"][code]["content"].values()]
            assert schema, (method, path, code)


def test_a_repeated_registration_is_documented_as_200_beside_201():
    responses = openapi_document()["paths"]["/gateway/clips"]["post"]["responses"]
    assert responses["200"]["content"] == responses["201"]["content"]
    assert "registered before" in responses["200"]["description"]


def test_operations_taking_a_body_document_415_for_one_that_is_not_json():
    for method, path, operation in operations():
        assert ("415" in operation["responses"]) == ("requestBody" in operation), (method, path)


def test_authenticated_operations_document_401_and_403_as_json_errors():
    for method, path, operation in operations():
        if operation.get("security"):
            for code in ("401", "403"):
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_query_parameters_are_typed_and_required_where_they_must_be():
    audit = {p["name"]: p for p in openapi_document()["paths"]["/audit"]["get"]["parameters"]}
    assert audit["site"]["required"] is True
    assert audit["limit"]["schema"]["type"] == "integer"
    assert audit["limit"]["required"] is False
    assert audit["from"]["schema"] == {"type": "string", "format": "date-time"}


def test_request_bodies_carry_their_json_schema():
    document = openapi_document()
    body = document["paths"]["/gateway/clips"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["required"]) == {"camera_id", "start", "end", "size", "sha256"}


def test_answers_name_no_storage_keys_or_secret_hashes():
    schemas = openapi_document()["components"]["schemas"]
    for name in ("ClipRecord", "SearchedClip", "GatewayView", "ShareView", "ExportView"):
        fields = set(schemas[name]["properties"])
        assert not fields & {"object_key", "thumbnail_keys", "secret_sha256", "token_sha256"}, name


def test_each_route_names_the_models_its_view_is_annotated_with():
    """Contracts name their models as text (imported on first request): a name that drifts from the view's
    own `body` or `query` type would validate a request as something the view does not expect."""
    checked = 0
    for (method, path), contract in CONTRACTS.items():
        view = app.routes[path][method].view_function.__wrapped__
        for part, model in (("body", contract.body), ("query", contract.query)):
            if model is not None and part in view.__annotations__:
                assert view.__annotations__[part] == model.__name__, f"{method} {path} {part}"
                checked += 1
    assert checked > 30
