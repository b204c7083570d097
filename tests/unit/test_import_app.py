"""`import app` is every function's cold start: it declares the routes and their contracts but imports no model
(nor pydantic, nor the video libraries); a route's models come with its first request, which validates as before."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.test_observability import run_in_lambda_like_process

# API Gateway's proxy event for a gateway's registration, the gateways' authorizer having passed.
REGISTRATION = {
    "resource": "/gateway/clips",
    "path": "/gateway/clips",
    "httpMethod": "POST",
    "headers": {"content-type": "application/json"},
    "multiValueHeaders": {"content-type": ["application/json"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "isBase64Encoded": False,
    "requestContext": {
        "resourcePath": "/gateway/clips",
        "httpMethod": "POST",
        "path": "/api/gateway/clips",
        "stage": "api",
        "apiId": "test",
        "authorizer": {"principal_id": "gateway:gw-1", "role": "gateway", "sites": "site-1"},
    },
}


def run_app(then: str = "") -> dict[str, Any]:
    """`import app` in a fresh process, then `then` (which may set `answer`): the modules it left loaded."""
    script = (
        "import json, sys\n"
        "import app\n"
        "answer = None\n"
        "class Context:  # the parts of Lambda's context Powertools reads\n"
        "    function_name, aws_request_id, memory_limit_in_mb, invoked_function_arn = 'api', 'r-1', 1024, ''\n"
        f"{then}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('chalicelib', 'pydantic', 'av', 'PIL'))\n"
        "print(json.dumps({'loaded': loaded, 'answer': answer}))\n"
    )
    return run_in_lambda_like_process(script)[-1]


def test_import_app_imports_no_model_nor_pydantic_nor_video_libraries() -> None:
    loaded = set(run_app()["loaded"])
    assert not {"av", "PIL", "pydantic"} & loaded
    assert "chalicelib.model" not in loaded  # the base of every model: no model module was imported
    assert not {name for name in loaded if name.startswith(("chalicelib.services", "chalicelib.store"))}
    assert "chalicelib.api.gateway" in loaded  # the routes themselves are declared


def test_the_api_path_imports_no_video_library_when_it_has_imported_every_route_model_and_service() -> None:
    every_route_and_service = (
        "import importlib, pkgutil\n"
        "from chalicelib.api.openapi import openapi_document\n"
        "openapi_document()  # every route's models\n"
        "import chalicelib.auth, chalicelib.services, chalicelib.store\n"
        "for package in (chalicelib.services, chalicelib.store):\n"
        "    for module in pkgutil.iter_modules(package.__path__):\n"
        "        importlib.import_module(f'{package.__name__}.{module.name}')\n"
    )
    loaded = set(run_app(every_route_and_service)["loaded"])
    assert {"pydantic", "chalicelib.services.shares", "chalicelib.domain.catalog"} <= loaded
    assert not {"av", "PIL"} & loaded


def test_a_route_whose_models_come_with_its_first_request_refuses_a_bad_body_as_before() -> None:
    request = REGISTRATION | {"body": json.dumps({"camera_id": "cam-1", "size": "big"})}
    ran = run_app(f"answer = app.app({request!r}, Context())")
    answer = ran["answer"]
    assert answer["statusCode"] == 400
    body = json.loads(answer["body"])
    assert body["error"] == "invalid_request"
    assert body["message"].startswith(
        "start: Field required; end: Field required; size: Input should be a valid integer"
    )
    loaded = set(ran["loaded"])
    assert {"pydantic", "chalicelib.domain.clips"} <= loaded  # the route's body model, imported for it
    assert "chalicelib.services.shares" not in loaded  # and not another route's


def test_a_route_whose_models_come_with_its_first_request_refuses_a_body_that_is_not_json() -> None:
    request = REGISTRATION | {"body": "{not json"}
    answer = run_app(f"answer = app.app({request!r}, Context())")["answer"]
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"]) == {"error": "invalid_request", "message": "the body is not valid JSON"}
