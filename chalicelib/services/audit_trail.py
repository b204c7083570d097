"""The dpo and auditors read the audit trail and verify its chain."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from chalicelib.domain.audit import NO_SITE, AuditEvent, AuditFilter, Outcome
from chalicelib.domain.audit_chain import SEGMENTS, lock_period
from chalicelib.domain.audit_verify import Span, first_signed_heads, verify_site
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window, check_page_limit
from chalicelib.errors import AccessRefused, InvalidRequest
from chalicelib.model import Model
from chalicelib.policy import Action, authorize, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.digests import AuditDigests
from chalicelib.store.signing import AuditSigner

# Verification reads one digest object at a time (288 a site and day): a window of at most this keeps it within
# API Gateway's 29 s (README "What verification checks"); the whole history is the export verifier's.
MAX_VERIFY_SPAN = timedelta(days=7)
_LAST_SEQ = 2**53 - 1


class AuditPage(Model):
    events: list[AuditEvent]
    cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class Verification(Model):
    site: str
    intact: bool
    checked_from: str | None = Field(description="the first boundary whose digest was checked (the window's start)")
    checked_to: str | None = Field(description="the window's end; null: up to the newest digest")
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

    def verify(self, principal: Principal, site: str, window: Window, now: datetime) -> Verification:
        """Recompute a site's chains against every version of its signed, locked digests of a window, and the
        events from the heads the window's first digest signed."""
        self._may_read(principal, Action.VERIFY_AUDIT, site)
        window.check()
        if window.end - window.start > MAX_VERIFY_SPAN:
            raise InvalidRequest(
                f"verification spans at most {MAX_VERIFY_SPAN.days} days; the whole trail: python -m infra.audit_export"
            )
        lock = lock_period(
            self._catalog.sites(self._catalog.site_ids()) if site == NO_SITE else self._catalog.sites([site])
        )
        end = None if window.end >= now else window.end  # a window to now ends with the newest digest
        versions = self._digests.versions(site, window.start, end)
        began = self._digests.first_boundary(site)
        # A trail that began before the window is checked from the heads its first digest there signed.
        anchor = first_signed_heads(site, versions, self._public_key()) if began and began < window.start else {}
        report = verify_site(
            site,
            self._events(site, anchor),
            versions,
            self._public_key(),
            now,
            required_lock=lambda at: at + lock,
            window=Span(window.start, end, began, anchor),
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

    def _events(self, site: str, anchor: Mapping[int, tuple[int, str]]) -> Iterator[dict[str, Any]]:
        for segment in range(SEGMENTS):
            yield from self._audit.segment_events(site, segment, max(1, anchor.get(segment, (1, ""))[0]), _LAST_SEQ)

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
