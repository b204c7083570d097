"""Audit events: who did (or was refused) what, where, when, and why (GDPR Art. 5(2), 30)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from ulid import ULID

from chalicelib.domain.clips import UtcTime
from chalicelib.domain.principal import Principal

NO_SITE = "-"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


class AuditEvent(BaseModel):
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


def audit_event(
    principal: Principal | None,
    action: str,
    site: str,
    target: str,
    outcome: Outcome,
    now: datetime,
    *,
    purpose: str | None = None,
    case_id: str | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """An event for `principal` (None: a caller whose credentials were not accepted)."""
    return AuditEvent(
        event_id=str(ULID.from_datetime(now)),
        at=now,
        site=site or NO_SITE,
        actor=principal.id if principal else "anonymous",
        role=principal.role.value if principal else "-",
        action=action,
        target=target,
        outcome=outcome,
        purpose=purpose,
        case_id=case_id,
        reason=reason,
    )
