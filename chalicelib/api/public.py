"""Routes anyone may call."""

from __future__ import annotations

from typing import Any, Literal

from chalice import Blueprint

from chalicelib.api.http import api_route
from chalicelib.api.openapi import openapi_document
from chalicelib.model import Model

public_api = Blueprint(__name__)


class Health(Model):
    status: Literal["ok"]


@api_route(public_api, "/health", summary="Liveness", answer=Health)
def health() -> Health:
    return Health(status="ok")


@api_route(public_api, "/openapi.json", summary="This document (OpenAPI 3.1)", answer=dict[str, Any])
def openapi() -> dict[str, Any]:
    return openapi_document()
