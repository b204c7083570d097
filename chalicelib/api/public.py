"""Routes anyone may call."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import api_route

public_api = Blueprint(__name__)


@api_route(public_api, "/health", summary="Liveness", answer="chalicelib.api.models:Health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@api_route(public_api, "/openapi.json", summary="This document (OpenAPI 3.1)", answer=dict[str, Any])
def openapi() -> dict[str, Any]:
    from chalicelib.api.openapi import openapi_document  # it imports every route's models

    return openapi_document()
