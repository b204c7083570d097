"""The dpo and auditors read the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.audit import NO_SITE, Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window, check_page_limit
from chalicelib.errors import AccessRefused
from chalicelib.policy import Action, authorize, require_role
from chalicelib.store.audit import AuditLog


class AuditTrail:
    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def events(
        self, principal: Principal, site: str, window: Window, limit: int, cursor: str | None, now: datetime
    ) -> dict[str, Any]:
        """A site's events; events tied to no site (rejected credentials) are for auditors."""
        window.check()
        check_page_limit(limit)
        if site == NO_SITE:
            require_role(principal, Action.READ_AUDIT)
            if principal.role != Role.AUDITOR:
                raise AccessRefused("events tied to no site are for auditors", action=Action.READ_AUDIT, site=site)
        else:
            authorize(principal, Action.READ_AUDIT, site)
        events, next_cursor = self._audit.events(site, window.start, window.end, limit, cursor)
        self._audit.record(
            principal,
            Action.READ_AUDIT,
            site,
            f"audit {window.start:%F}..{window.end:%F}",
            Outcome.ALLOWED,
            now,
        )
        return {"events": [event.model_dump(mode="json") for event in events], "cursor": next_cursor}
