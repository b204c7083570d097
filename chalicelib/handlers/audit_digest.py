"""Hourly: write each audit chain's head to the Object Lock bucket, so a rewritten history shows."""

from __future__ import annotations

from datetime import datetime

from chalicelib.domain.audit import NO_SITE
from chalicelib.domain.audit_chain import Digest
from chalicelib.domain.timeutil import iso
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.digests import AuditDigests


class DigestWriter:
    def __init__(self, audit: AuditLog, digests: AuditDigests, catalog: Catalog) -> None:
        self._audit = audit
        self._digests = digests
        self._catalog = catalog

    def run(self, now: datetime) -> int:
        """Write a digest of every chain that has events; how many were written."""
        written = 0
        for chain in [*self._catalog.site_ids(), NO_SITE]:
            head = self._audit.head(chain)
            if head.seq:
                self._digests.write(Digest(chain=chain, seq=head.seq, hash=head.hash, at=iso(now)))
                written += 1
        return written
