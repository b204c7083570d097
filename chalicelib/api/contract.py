"""Each route's contract, declared once beside the route: what it takes, what it answers, who may call it.

`api_route` validates requests and answers against it, and `/openapi.json` is generated from it, so the
document cannot drift from what the routes do.

The models are named, not imported: `"chalicelib.domain.catalog:Camera"`. Every function imports app.py (it is
Lambda's init), and importing every route's models there, with pydantic and the services they live beside, was
half of it (bench/bench_import.py); a model's module is imported by its route's first request, or when the
document is built.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter


class Auth(StrEnum):
    """The security scheme of a route, as named in the OpenAPI document."""

    OFFICIAL = "official"
    GATEWAY = "gateway"


type ModelName = str  # "package.module:Model"


def resolve(named: Any) -> Any:
    """The model a contract names (`"package.module:Model"`, imported now); any other type as it is."""
    if not isinstance(named, str):
        return named
    module, separator, name = named.partition(":")
    if not separator:
        raise ValueError(f"{named!r}: a model is named as 'package.module:Model'")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Contract:
    operation_id: str
    method: str
    path: str
    summary: str
    auth: Auth | None
    body_model: ModelName | None
    query_model: ModelName | None
    # A model's name, a type pydantic can describe that needs no import (str, dict[str, Any]), or None for an
    # empty answer.
    answer_type: Any
    status: int  # the usual success
    errors: tuple[int, ...]  # beyond those its inputs and auth imply (error_statuses)
    media_type: str = "application/json"
    # Other successes, with what each means: (200, "registered before: the same clip").
    also: tuple[tuple[int, str], ...] = ()

    @property
    def success_statuses(self) -> tuple[int, ...]:
        return (self.status, *(status for status, _ in self.also))

    @property
    def error_statuses(self) -> frozenset[int]:
        """Every error status the route may answer: those its inputs and auth imply, and those it declares."""
        codes = set(self.errors)
        if self.body_model or self.query_model or "{" in self.path:
            codes |= {400, 404}  # a site or id named in the path, body or query may be unknown, or hidden
        if self.body_model:
            codes.add(415)  # a body that is not JSON (Chalice answers it, before the route)
        if self.auth is not None:
            codes |= {401, 403}
        return frozenset(codes)

    def declares(self, status: int) -> bool:
        return status in self.success_statuses or status in self.error_statuses

    @functools.cached_property
    def body(self) -> type[BaseModel] | None:
        return resolve(self.body_model)

    @functools.cached_property
    def query(self) -> type[BaseModel] | None:
        return resolve(self.query_model)

    @functools.cached_property
    def answer_adapter(self) -> TypeAdapter[Any]:
        from pydantic import TypeAdapter

        return TypeAdapter(resolve(self.answer_type))


CONTRACTS: dict[tuple[str, str], Contract] = {}


def register_contract(contract: Contract) -> None:
    key = (contract.method, contract.path)
    if key in CONTRACTS:
        raise ValueError(f"{contract.method} {contract.path} is declared twice")
    CONTRACTS[key] = contract
