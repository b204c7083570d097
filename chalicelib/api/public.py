"""Routes anyone may call."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import api_route, json_response
from chalicelib.api.openapi import openapi_document

public_api = Blueprint(__name__)


@api_route(public_api, "/health")
def health() -> Response:
    return json_response({"status": "ok"})


@api_route(public_api, "/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())
