"""The dpo and auditors read the audit trail and verify its chain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from chalicelib.domain.audit import NO_SITE, AuditEvent, AuditFilter, Outcome
from chalicelib.domain.audit_chain import verify_chain
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window, check_page_limit
from chalicelib.errors import AccessRefused
from chalicelib.policy import Action, authorize, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.digests import AuditDigests


class AuditPage(BaseModel):
    events: list[AuditEvent]
    cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class Verification(BaseModel):
    site: str
    intact: bool
    events: int = Field(description="events recomputed")
    head_hash: str
    digests_checked: int
    first_broken_seq: int | None = Field(description="the first event that does not match, if any")
    problem: str | None


class AuditTrail:
    def __init__(self, audit: AuditLog, digests: AuditDigests) -> None:
        self._audit = audit
        self._digests = digests

    def events(
        self,
        principal: Principal,
        site: str,
        window: Window,
        page: tuple[int, str | None],
        only: AuditFilter,
        now: datetime,
    ) -> AuditPage:
        """A site's events, newest first."""
        window.check()
        limit, cursor = page
        check_page_limit(limit)
        self._may_read(principal, Action.READ_AUDIT, site)
        events, next_cursor = self._audit.events(site, window.start, window.end, limit, cursor, only)
        self._audit.record(
            principal, Action.READ_AUDIT, site, f"audit {window.start:%F}..{window.end:%F}", Outcome.ALLOWED, now
        )
        return AuditPage(events=events, cursor=next_cursor)

    def verify(self, principal: Principal, site: str, now: datetime) -> Verification:
        """Recompute a site's chain against its head and its locked digests."""
        self._may_read(principal, Action.VERIFY_AUDIT, site)
        result = verify_chain(site, self._audit.chain(site), self._digests.digests(site), self._audit.head(site).seq)
        self._audit.record(
            principal, Action.VERIFY_AUDIT, site, f"audit chain of {site}", Outcome.ALLOWED, now, reason=result.problem
        )
        return Verification(
            site=site,
            intact=result.intact,
            events=result.events,
            head_hash=result.head_hash,
            digests_checked=result.digests_checked,
            first_broken_seq=result.first_broken_seq,
            problem=result.problem,
        )

    @staticmethod
    def _may_read(principal: Principal, action: Action, site: str) -> None:
        """Events tied to no site (rejected credentials) are for auditors; a site's events for its dpo too."""
        if site != NO_SITE:
            authorize(principal, action, site)
            return
        require_role(principal, action, site=site)
        if principal.role != Role.AUDITOR:
            raise AccessRefused("events tied to no site are for auditors", action=action, site=site)
