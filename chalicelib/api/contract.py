"""Each route's contract, declared once beside the route: what it takes, what it answers, who may call it.

`api_route` validates requests and answers against it, and `/openapi.json` is generated from it, so the
document cannot drift from what the routes do.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from chalicelib.domain.audit import AuditFilter, Outcome
from chalicelib.domain.clips import UtcTime
from chalicelib.domain.query import MAX_PAGE, Window
from chalicelib.model import Model


class Auth(StrEnum):
    """The security scheme of a route, as named in the OpenAPI document."""

    OFFICIAL = "official"
    GATEWAY = "gateway"


@dataclass(frozen=True)
class Contract:
    operation_id: str
    method: str
    path: str
    summary: str
    auth: Auth | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    answer: Any  # a type pydantic can describe (a model, dict[str, Any]), or None for an empty answer
    status: int
    errors: tuple[int, ...]
    media_type: str = "application/json"

    @functools.cached_property
    def answer_adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.answer)


CONTRACTS: dict[tuple[str, str], Contract] = {}


def register_contract(contract: Contract) -> None:
    key = (contract.method, contract.path)
    if key in CONTRACTS:
        raise ValueError(f"{contract.method} {contract.path} is declared twice")
    CONTRACTS[key] = contract


class SiteQuery(Model):
    model_config = ConfigDict(frozen=True)

    site: str = Field(min_length=1, max_length=64, description="the site (municipality) id")


class SpanQuery(Model):
    """A time window: `to` defaults to now, `from` to a day before `to`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: UtcTime | None = Field(default=None, alias="from", description="start of the window (ISO 8601)")
    to: UtcTime | None = Field(default=None, description="end of the window (ISO 8601), default now")

    def window(self, now: datetime, default_span: timedelta) -> Window:
        end = self.to or now
        return Window(start=self.from_ or end - default_span, end=end)


class WindowQuery(SpanQuery):
    """A time window and one page of what falls in it."""

    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="page size")
    cursor: str | None = Field(default=None, max_length=4096, description="from the previous page's `cursor`")


class AuditQuery(WindowQuery):
    site: str = Field(min_length=1, max_length=64, description="the site (municipality) id; `-`: no site")
    actor: str | None = Field(default=None, max_length=200, description="only events of this actor")
    action: str | None = Field(default=None, max_length=64, description="only events of this action")
    outcome: Outcome | None = Field(default=None, description="only allowed, or only refused, events")

    def filters(self) -> AuditFilter:
        return AuditFilter(actor=self.actor, action=self.action, outcome=self.outcome)
