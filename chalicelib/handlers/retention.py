"""Retention expiry: every hour, one sweep per site (a message each on the retention queue) deletes the footage
whose time is up, keeps a tombstone, audits each deletion."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.audit import Outcome
from chalicelib.domain.catalog import Site
from chalicelib.domain.clips import Clip
from chalicelib.domain.principal import SYSTEM
from chalicelib.domain.redaction import redaction_prefix
from chalicelib.domain.retention import effective_retain_until, plan_expiry
from chalicelib.domain.timeutil import iso, parse_time
from chalicelib.observability import logger
from chalicelib.policy import Action
from chalicelib.store.audit import AuditLog
from chalicelib.store.catalog import Catalog
from chalicelib.store.clips import ClipIndex
from chalicelib.store.objects import ClipObjects, Deletion
from chalicelib.store.queues import WorkQueue
from chalicelib.store.subject_requests import SubjectRequestBook

PAGE_SIZE = 100  # clips read per query of the expiry indexes
# A site's sweep takes no further page once its function has less time left than this (a page of a hundred
# clips takes seconds): it hands the rest of the site to a sweep of its own, sent to the queue after it.
HAND_ON_BEFORE_S = 60.0


@dataclass(frozen=True)
class SweepReport:
    expired: int
    objects_deleted: int
    finished: bool = True  # False: it stopped before its function's deadline, the rest of the site handed on


def site_sweep(site_id: str, at: datetime) -> dict[str, str]:
    """The message asking for one site's sweep as of `at` (the moment the hourly schedule fired)."""
    return {"site_id": site_id, "at": iso(at)}


def site_sweep_of(body: str) -> tuple[str, datetime]:
    """The site and moment a retention queue message asks a sweep for."""
    message = json.loads(body)
    return str(message["site_id"]), parse_time(str(message["at"]))


class RetentionSweep:
    """Sites are swept side by side, by as many functions, and a site whose sweep would outlast one function
    goes on in the next: one hourly run, however many sites and clips."""

    def __init__(
        self,
        index: ClipIndex,
        objects: ClipObjects,
        audit: AuditLog,
        catalog: Catalog,
        exports: SubjectRequestBook,
        queue: WorkQueue,
    ) -> None:
        self._index = index
        self._objects = objects
        self._audit = audit
        self._catalog = catalog
        self._exports = exports
        self._queue = queue

    def start(self, now: datetime) -> int:
        """Ask for a sweep of every site as of `now`; how many sites."""
        site_ids = self._catalog.site_ids()
        for site_id in site_ids:
            self._queue.send(site_sweep(site_id, now))
        return len(site_ids)

    def take(self, body: str, seconds_left: Callable[[], float]) -> SweepReport:
        """Sweep the site a queue message names; what is left when time runs short is handed on, as a message
        like it (a sweep is idempotent: a message delivered twice finds less, or nothing, to do)."""
        site_id, at = site_sweep_of(body)
        report = self.site(site_id, at, seconds_left)
        if not report.finished:
            self._queue.send(site_sweep(site_id, at))
        return report

    def site(self, site_id: str, now: datetime, seconds_left: Callable[[], float] = lambda: math.inf) -> SweepReport:
        """Expire every clip of the site due at `now` under its current policy, then its exports due; stops
        between pages once `seconds_left` is under HAND_ON_BEFORE_S (unfinished)."""
        site = self._catalog.get_site(site_id)
        if site is None:
            return SweepReport(expired=0, objects_deleted=0)
        deleted = 0
        done: set[str] = set()
        gone: set[str] = set()
        finished = True
        pages = self._index.due_for_expiry(site.site_id, now, site.retention_days, PAGE_SIZE)
        for number, page in enumerate(pages):
            if number and seconds_left() < HAND_ON_BEFORE_S:
                finished = False
                break
            due = [clip for clip in plan_expiry(page, now, site.retention_days) if clip.clip_id not in done]
            done.update(clip.clip_id for clip in due)
            for clip_id, removed in self._expire(due, site, now):
                gone.add(clip_id)
                deleted += removed
        self._forget_posters(site.site_id, gone)
        if finished:
            deleted += self._delete_exports(site.site_id, now)
        extra = {"site": site_id, "expired": len(gone), "objects_deleted": deleted, "now": iso(now)}
        logger.info("retention sweep" if finished else "retention sweep handed on", extra=extra)
        return SweepReport(expired=len(gone), objects_deleted=deleted, finished=finished)

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
