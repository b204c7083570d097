"""Retention expiry: delete footage whose time is up, keep a tombstone, audit each deletion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.audit import Outcome
from chalicelib.domain.clips import thumbnail_prefix
from chalicelib.domain.principal import SYSTEM
from chalicelib.domain.retention import plan_expiry
from chalicelib.domain.timeutil import iso
from chalicelib.observability import logger
from chalicelib.policy import Action
from chalicelib.store.audit import AuditLog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects

PAGE_SIZE = 100  # clips read per query of the expiry index


@dataclass(frozen=True)
class SweepReport:
    expired: int
    objects_deleted: int


class RetentionSweep:
    def __init__(self, index: ClipIndex, objects: ClipObjects, audit: AuditLog) -> None:
        self._index = index
        self._objects = objects
        self._audit = audit

    def run(self, now: datetime) -> SweepReport:
        """Expire every clip due at `now`; the footage goes first, so a crash leaves only a record to finish."""
        expired = deleted = 0
        for page in self._index.due_for_expiry(now, PAGE_SIZE):
            for clip in plan_expiry(page, now):
                deleted += self._objects.delete_everything_under(clip.object_key)
                deleted += self._objects.delete_everything_under(
                    thumbnail_prefix(clip.site, clip.camera_id, clip.clip_id)
                )
                if self._index.mark_expired(clip, now) is None:
                    continue
                expired += 1
                self._audit.record(
                    SYSTEM,
                    Action.EXPIRE_CLIP,
                    clip.site,
                    f"clip:{clip.clip_id}",
                    Outcome.ALLOWED,
                    now,
                    reason=f"retention ended {iso(clip.retain_until)}",
                )
        logger.info("retention sweep", extra={"expired": expired, "objects_deleted": deleted, "now": iso(now)})
        return SweepReport(expired=expired, objects_deleted=deleted)
