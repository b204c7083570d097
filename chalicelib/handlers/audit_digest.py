"""Every interval: sign each audit chain's segment heads and lock them away, so a rewritten history shows."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from chalicelib.domain.audit import NO_SITE
from chalicelib.domain.audit_chain import (
    DIGEST_INTERVAL,
    SIGNING_ALGORITHM,
    SegmentHead,
    continuity_problem,
    digest_payload,
    interval_start,
    lock_period,
    signed_bytes,
)
from chalicelib.observability import logger
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.digests import AuditDigests
from chalicelib.store.signing import AuditSigner


class DigestWriter:
    def __init__(self, audit: AuditLog, digests: AuditDigests, signer: AuditSigner, catalog: Catalog) -> None:
        self._audit = audit
        self._digests = digests
        self._signer = signer
        self._catalog = catalog

    def run(self, scheduled_at: datetime, now: datetime) -> int:
        """Write the digest of the boundary at or before `scheduled_at` for every chain that has begun."""
        at = interval_start(scheduled_at)
        sites = self._catalog.sites(self._catalog.site_ids())
        chains = {site.site_id: lock_period([site]) for site in sites} | {NO_SITE: lock_period(sites)}
        written = 0
        for chain, lock in chains.items():
            if self._write(chain, at, now, at + lock):
                written += 1
        return written

    def _write(self, chain: str, at: datetime, now: datetime, retain_until: datetime) -> bool:
        previous_document = self._digests.read(chain, at - DIGEST_INTERVAL)
        previous = previous_document.get("payload") if previous_document else None
        heads = self._audit.heads(chain)
        if previous is None and not any(head.seq for head in heads):
            return False  # this chain has not begun: nothing to vouch for yet
        problem = continuity_problem(previous, heads, self._since(chain, previous, heads))
        if problem:
            logger.error("audit chain discontinuity", extra={"chain": chain, "problem": problem})
        payload = digest_payload(chain, at, now, heads, previous, retain_until, self._signer.key_id, problem)
        signature = self._signer.sign(signed_bytes(payload))
        document = {
            "payload": payload,
            "signing_algorithm": SIGNING_ALGORITHM,
            "signature": base64.b64encode(signature).decode(),
        }
        return self._digests.write(chain, at, document, retain_until)

    def _since(
        self, chain: str, previous: dict[str, Any] | None, heads: list[SegmentHead]
    ) -> dict[int, list[dict[str, Any]]]:
        """Each segment's events from the head the last digest signed (included) up to today's head."""
        if previous is None:
            return {}
        signed = {int(entry["segment"]): int(entry["seq"]) for entry in previous["segments"]}
        since: dict[int, list[dict[str, Any]]] = {}
        for head in heads:
            first = signed.get(head.segment, 0)
            if head.seq >= first:
                since[head.segment] = list(self._audit.segment_events(chain, head.segment, first, head.seq))
        return since
