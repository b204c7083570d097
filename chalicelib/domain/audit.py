"""Audit events: who did (or was refused) what, where, when, and why (GDPR Art. 5(2), 30)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import ConfigDict

from chalicelib.domain.clips import UtcTime
from chalicelib.model import Model

NO_SITE = "-"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditFilter:
    """Which events of a window to list; None matches every value."""

    actor: str | None = None
    action: str | None = None
    outcome: Outcome | None = None

    def fields(self) -> dict[str, str]:
        chosen = {"actor": self.actor, "action": self.action, "outcome": self.outcome}
        return {name: str(value) for name, value in chosen.items() if value is not None}


class AuditEvent(Model):
    model_config = ConfigDict(frozen=True)

    event_id: str
    at: UtcTime
    site: str
    actor: str
    role: str
    action: str
    target: str
    outcome: Outcome
    purpose: str | None = None
    case_id: str | None = None
    reason: str | None = None
    count: int | None = None
    segment: int
    seq: int
    prev_hash: str
    hash: str
