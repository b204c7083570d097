"""The API's own models: the query strings several routes share, and the answers of the health and console routes.

Apart from the routes (chalicelib/api/*.py), which name them: importing app does not import pydantic's models.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import ConfigDict, Field

from chalicelib.domain.audit import AuditFilter, Outcome
from chalicelib.domain.clips import UtcTime
from chalicelib.domain.query import MAX_PAGE, Window
from chalicelib.model import Model


class Health(Model):
    status: Literal["ok"]


class LoginConfig(Model):
    region: str
    user_pool_client_id: str
    cognito_endpoint: str = Field(description="where the console sends Cognito's InitiateAuth and challenges")


class SpanQuery(Model):
    """A time window: `to` defaults to now, `from` to a day before `to`."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    from_: UtcTime | None = Field(default=None, alias="from", description="start of the window (ISO 8601)")
    to: UtcTime | None = Field(default=None, description="end of the window (ISO 8601), default now")

    def window(self, now: datetime, default_span: timedelta) -> Window:
        end = self.to or now
        return Window(start=self.from_ or end - default_span, end=end)


class VerifyQuery(SpanQuery):
    """A site and the window of its digests to verify: `to` defaults to now, `from` to a day before `to`; at most
    7 days (the whole trail: the export's own verifier)."""

    site: str = Field(min_length=1, max_length=64, description="the site (municipality) id; `-`: no site")


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
