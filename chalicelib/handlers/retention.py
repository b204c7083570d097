"""Retention expiry: delete footage whose time is up, keep a tombstone, audit each deletion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.audit import Outcome
from chalicelib.domain.catalog import Site
from chalicelib.domain.clips import Clip
from chalicelib.domain.principal import SYSTEM
from chalicelib.domain.redaction import redaction_prefix
from chalicelib.domain.retention import effective_retain_until, plan_expiry
from chalicelib.domain.timeutil import iso
from chalicelib.observability import logger
from chalicelib.policy import Action
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects, Deletion
from chalicelib.store.subject_requests import SubjectRequestBook

PAGE_SIZE = 100  # clips read per query of the expiry indexes


@dataclass(frozen=True)
class SweepReport:
    expired: int
    objects_deleted: int


class RetentionSweep:
    def __init__(
        self, index: ClipIndex, objects: ClipObjects, audit: AuditLog, catalog: Catalog, exports: SubjectRequestBook
    ) -> None:
        self._index = index
        self._objects = objects
        self._audit = audit
        self._catalog = catalog
        self._exports = exports

    def run(self, now: datetime) -> SweepReport:
        """Expire every clip due at `now` under its site's current policy."""
        expired = deleted = 0
        for site_id in self._catalog.site_ids():
            site = self._catalog.get_site(site_id)
            if site is None:
                continue
            done: set[str] = set()
            gone: set[str] = set()
            for page in self._index.due_for_expiry(site.site_id, now, site.retention_days, PAGE_SIZE):
                due = [clip for clip in plan_expiry(page, now, site.retention_days) if clip.clip_id not in done]
                done.update(clip.clip_id for clip in due)
                for clip_id, removed in self._expire(due, site, now):
                    gone.add(clip_id)
                    deleted += removed
            expired += len(gone)
            self._forget_posters(site.site_id, gone)
            deleted += self._delete_exports(site.site_id, now)
        logger.info("retention sweep", extra={"expired": expired, "objects_deleted": deleted, "now": iso(now)})
        return SweepReport(expired=expired, objects_deleted=deleted)

    def _delete_exports(self, site_id: str, now: datetime) -> int:
        """Subject access exports are personal data too: each goes when its time is up."""
        deleted = 0
        for export in self._exports.exports_due(site_id, now):
            if export.object_key:
                deleted += self._objects.delete_everything_under(export.object_key).removed
            # Its redaction's tracks and thumbnail strips (faces of passers-by) go with it.
            if export.request.redaction_id:
                prefix = redaction_prefix(site_id, export.request_id, export.request.redaction_id)
                deleted += self._objects.delete_everything_under(prefix).removed
            self._exports.mark_export_deleted(export)
            self._audit.record(
                SYSTEM, Action.EXPORT_FOOTAGE, site_id, f"export:{export.export_id} deleted", Outcome.ALLOWED, now
            )
        return deleted

    def _forget_posters(self, site_id: str, expired: set[str]) -> None:
        """A camera silent for longer than the retention: its latest clip expired, and the wall shows no poster
        of deleted stills (one read of the site's cameras, and only when clips expired)."""
        if expired:
            for camera in self._catalog.cameras_of_site(site_id):
                if camera.latest_clip_id in expired:
                    self._catalog.forget_latest_clip(camera.camera_id, camera.latest_clip_id)

    def _expire(self, due: list[Clip], site: Site, now: datetime) -> Iterator[tuple[str, int]]:
        """Expire these clips; for each expired, its id and the number of its objects deleted (none for one a
        case held meanwhile). The footage goes first, so a crash leaves only records to finish.

        A judged clip's record names every version stored, so exactly those are deleted, the page's together
        in one request (no listing, no request per clip); one still awaited or being judged is looked for
        under each of its keys, its multipart upload aborted. An upload arriving after the tombstone is deleted
        by ingest.
        """
        judged = {clip.clip_id: stored for clip in due if (stored := clip.stored_versions()) is not None}
        kept = self._objects.delete_versions([version for stored in judged.values() for version in stored])
        for clip in due:
            if clip.clip_id in judged:
                stored = judged[clip.clip_id]
                held = sum(version.key in kept for version in stored)
                deletion = Deletion(removed=len(stored) - held, refused=held)
            else:
                deletion = self._objects.delete_all_of(clip)
            if self._expired(clip, site, deletion, now):
                yield clip.clip_id, deletion.removed

    def _expired(self, clip: Clip, site: Site, deletion: Deletion, now: datetime) -> bool:
        """Record the clip expired, its footage deleted; False if a case held it since it was found due."""
        if deletion.refused or self._index.mark_expired(clip, now) is None:
            logger.info("clip held since it was found due; kept", extra={"clip_id": clip.clip_id})
            return False
        self._audit.record(
            SYSTEM,
            Action.EXPIRE_CLIP,
            clip.site,
            f"clip:{clip.clip_id}",
            Outcome.ALLOWED,
            now,
            reason=f"retention of {site.retention_days} days ended "
            f"{iso(effective_retain_until(clip, site.retention_days))}",
        )
        return True
