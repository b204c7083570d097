"""A clip over 100 MB, sent in parts: the archive starts (or resumes) its multipart upload and hands out a
URL per part, the parts S3 lacks are PUT in order, each written to the clip's sidecar as soon as S3 holds it,
and the archive assembles them. After a crash, an outage or a restart the next round asks again which parts
S3 holds, so only the missing ones go, at most one of them (the one cut off) a second time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gateway.agent.api import ArchiveApi, MultipartPlan, Refused, UploadExpired
from gateway.agent.logs import event
from gateway.agent.sealing import part_digests
from gateway.agent.spool import ClipRecord, MultipartProgress, Spool

log = logging.getLogger(__name__)

# Rounds of a multipart upload (ask for tickets, send parts, complete) in a row that store no part
# before the clip waits for a later pass; a 409 in the last of them counts as a refusal.
MULTIPART_IDLE_ROUNDS = 3


class PartsUpload:
    """Sends spooled clips in parts through `api` until `stop` is set."""

    def __init__(self, api: ArchiveApi, spool: Spool, stop: threading.Event) -> None:
        self._api = api
        self._spool = spool
        self._stop = stop

    def send(self, record: ClipRecord, part_size: int, now: datetime) -> tuple[ClipRecord, datetime] | None:
        """Send the parts S3 lacks and have the archive assemble them: the record as saved then, with when
        that was, or None to go on at a later pass (stopping, or URLs expiring faster than parts go).

        Rounds: ask for tickets (which says what is stored), send the missing parts, complete. A new
        round follows an expired URL, an aborted upload or a 409 at completion, none of which is the
        clip's fault; network errors go up to the pass's backoff, with every part sent kept.
        """
        started = time.monotonic()

        def current() -> datetime:
            # Parts take long; each URL's expiry is judged at the time of its own PUT.
            return now + timedelta(seconds=time.monotonic() - started)

        # Declared up front: each part's URL carries its sha256, so S3 stores only these bytes for it.
        part_sha256 = part_digests(self._spool.sealed_path(record.name), part_size)
        idle = 0
        while idle < MULTIPART_IDLE_ROUNDS and not self._stop.is_set():
            sent = 0
            try:
                record, plan = self._plan(record, part_sha256)
                record, sent, finished = self._send_parts(record, plan, current)
                if finished and not self._stop.is_set():
                    self._api.complete_multipart(plan.clip_id)
                    event(log, logging.INFO, "multipart_completed", name=record.name, parts=plan.parts_total)
                    return record, current()
            except Refused as refusal:
                if refusal.status != 409 or (not sent and idle == MULTIPART_IDLE_ROUNDS - 1):
                    raise
                # Completion found parts missing, or another request was starting the upload: ask again.
                event(log, logging.WARNING, "multipart_conflict", name=record.name, error=str(refusal))
            idle = 0 if sent else idle + 1
        return None

    def _plan(self, record: ClipRecord, part_sha256: list[str]) -> tuple[ClipRecord, MultipartPlan]:
        """Ask the archive to start or resume the clip's upload; its list of stored parts goes to the sidecar."""
        if record.clip_id is None:  # cannot happen after a registration
            raise Refused(0, "no_clip_id", "multipart upload of a clip that is not registered")
        plan = self._api.start_multipart(record.clip_id, part_sha256)
        known = record.multipart
        progress = MultipartProgress(plan.upload_id, plan.part_size, plan.parts_total, plan.parts_stored)
        fields: dict[str, Any] = {
            "name": record.name,
            "upload_id": plan.upload_id,
            "parts_total": plan.parts_total,
            "parts_stored": len(plan.parts_stored),
            "parts_to_send": len(plan.parts),
        }
        if known is None:
            event(log, logging.INFO, "multipart_started", **fields)
        elif known.upload_id != plan.upload_id:
            # Aborted in the archive (S3 drops incomplete uploads after a while): everything goes again.
            event(log, logging.WARNING, "multipart_restarted", previous_upload_id=known.upload_id, **fields)
        else:
            lost = sorted(set(known.parts_done) - set(plan.parts_stored))
            event(log, logging.WARNING if lost else logging.INFO, "multipart_resumed", parts_lost=lost, **fields)
        if progress != known:
            record = replace(record, multipart=progress)
            self._spool.save(record)
        return record, plan

    def _send_parts(
        self, record: ClipRecord, plan: MultipartPlan, current: Callable[[], datetime]
    ) -> tuple[ClipRecord, int, bool]:
        """PUT the plan's parts in order; (record, parts stored, whether every ticket was used)."""
        path = self._spool.sealed_path(record.name)
        sent = 0
        for part in plan.parts:
            if self._stop.is_set():
                return record, sent, False
            server_now = current() + timedelta(seconds=self._api.clock_offset_s or 0.0)
            if part.ticket.expired(server_now):
                event(log, logging.INFO, "upload_url_expired", name=record.name, part=part.number, before="put")
                return record, sent, False
            offset, length = plan.span(part.number, record.sealed.size)
            try:
                etag = self._api.put_part(part.ticket, path, offset, length)
            except UploadExpired as expired:
                event(log, logging.INFO, "upload_url_expired", name=record.name, part=part.number, error=str(expired))
                return record, sent, False
            except Refused as refusal:
                if refusal.code != "NoSuchUpload":
                    raise
                # Aborted under our feet: the next round's ask starts a new upload.
                event(log, logging.WARNING, "multipart_upload_gone", name=record.name, part=part.number)
                return record, sent, False
            record = self._part_stored(record, plan, part.number)
            sent += 1
            event(log, logging.DEBUG, "part_uploaded", name=record.name, part=part.number, etag=etag)
        return record, sent, True

    def _part_stored(self, record: ClipRecord, plan: MultipartPlan, number: int) -> ClipRecord:
        """Write the part down at once (durably): a part stored is progress, so the refusal budget starts afresh."""
        progress = record.multipart
        if progress is None or progress.upload_id != plan.upload_id:  # cannot happen: _plan set it
            progress = MultipartProgress(plan.upload_id, plan.part_size, plan.parts_total, plan.parts_stored)
        stored = replace(record, multipart=progress.with_part(number), refusals=0, retry_at=None, last_error=None)
        self._spool.save(stored)
        return stored
