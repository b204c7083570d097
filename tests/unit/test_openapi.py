"""/openapi.json describes exactly the routes the app serves."""

from __future__ import annotations

from app import app
from chalicelib.api.openapi import OPERATIONS, openapi_document


def served_operations() -> set[tuple[str, str]]:
    return {(method, path) for path, methods in app.routes.items() for method in methods}


def test_every_served_route_is_documented():
    assert served_operations() - set(OPERATIONS) == set()


def test_every_documented_route_is_served():
    assert set(OPERATIONS) - served_operations() == set()


def test_document_lists_each_operation_with_its_security():
    document = openapi_document()
    for method, path in served_operations():
        operation = document["paths"][path][method.lower()]
        security = operation.get("security")
        if path.startswith("/gateway/"):
            assert security == [{"gateway": []}]
        elif path in ("/health", "/openapi.json") or path.startswith(("/public/", "/s/")):
            assert security is None
        else:
            assert security == [{"official": []}]


def test_request_bodies_carry_their_json_schema():
    body = openapi_document()["paths"]["/gateway/clips"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"camera_id", "start", "end", "size", "sha256"}


def test_api_path_does_not_import_video_libraries():
    import subprocess
    import sys

    probe = "import sys, app; print('av' in sys.modules, 'PIL' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
