"""The dpo and auditors read the audit trail and verify its chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from chalicelib.domain.audit import NO_SITE, AuditEvent, AuditFilter, Outcome
from chalicelib.domain.audit_chain import lock_period
from chalicelib.domain.audit_verify import verify_site
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window, check_page_limit
from chalicelib.errors import AccessRefused
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.digests import AuditDigests
from chalicelib.store.signing import AuditSigner


class AuditPage(Model):
    events: list[AuditEvent]
    cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class Verification(Model):
    site: str
    intact: bool
    events: int = Field(description="events recomputed")
    head_hash: str
    digests_checked: int = Field(description="signed digests whose every version was checked")
    digests_expected: int = Field(description="one per interval since the chain began")
    last_digest_at: str | None
    first_broken_segment: int | None
    first_broken_seq: int | None = Field(description="the first event that does not match, if any")
    problem: str | None = Field(description="the first break, in words")
    problems: list[str] = Field(description="every break found")


class AuditTrail:
    def __init__(self, audit: AuditLog, digests: AuditDigests, signer: AuditSigner, catalog: Catalog) -> None:
        self._audit = audit
        self._digests = digests
        self._signer = signer
        self._catalog = catalog
        self._key: Any = None

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
        """Recompute a site's chains against every version of its signed, locked digests."""
        self._may_read(principal, Action.VERIFY_AUDIT, site)
        lock = lock_period(
            self._catalog.sites(self._catalog.site_ids()) if site == NO_SITE else self._catalog.sites([site])
        )
        report = verify_site(
            site,
            self._audit.chain(site),
            self._digests.versions(site),
            self._public_key(),
            now,
            required_lock=lambda at: at + lock,
        )
        self._audit.record(
            principal,
            Action.VERIFY_AUDIT,
            site,
            f"audit chain of {site}",
            Outcome.ALLOWED,
            now,
            reason=report.breaks[0].message if report.breaks else None,
        )
        return Verification.model_validate(report.as_json())

    def _public_key(self) -> Any:
        if self._key is None:
            from cryptography.hazmat.primitives.serialization import load_der_public_key  # verification alone

            self._key = load_der_public_key(self._signer.public_key_der)
        return self._key

    @staticmethod
    def _may_read(principal: Principal, action: Action, site: str) -> None:
        """Events tied to no site (rejected credentials) are for auditors; a site's events for its dpo too."""
        if site != NO_SITE:
            authorize(principal, action, site)
            return
        require_role(principal, action, site=site)
        if principal.role != Role.AUDITOR:
            raise AccessRefused("events tied to no site are for auditors", action=action, site=site)
