"""What the gateway agent lets go of, and telling the archive: clips past the age limit or over the spool's
quota are deleted (never sent), each leaving a drop record that is reported as a gap until the archive has it.

Drops share the agent's lock (a drop never meets a take, an upload or a removal half done) and leave alone
the clips the agent is busy with (their PUT may already be on the wire).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from gateway.agent.api import ArchiveApi, Refused
from gateway.agent.clock import iso, parse_iso
from gateway.agent.config import AgentConfig
from gateway.agent.logs import event
from gateway.agent.spool import FAILED, PENDING, AgentState, ClipRecord, DropReason, DropRecord, Spool

log = logging.getLogger(__name__)

DROPS_PER_REPORT = 100


class Drops:
    def __init__(
        self,
        settings: Callable[[], AgentConfig],
        spool: Spool,
        api: ArchiveApi,
        state: AgentState,
        lock: threading.RLock,
        busy: Callable[[str], bool],
    ) -> None:
        self._settings = settings  # the agent's, read at each use
        self.spool = spool
        self.api = api
        self._state = state
        self._lock = lock
        self._busy = busy

    def enforce_limits(self, now: datetime) -> None:
        """Delete what is past the age limit, then the oldest clips while the spool is over its quota."""
        self._drop_too_old(now)
        self._enforce_quota(now)

    def _drop_too_old(self, now: datetime) -> None:
        # Storage limitation: footage past the age limit is deleted here, never sent.
        cutoff = now - timedelta(days=self._settings().max_clip_age_days)
        for area in (PENDING, FAILED):
            for record in self.spool.clips(area):
                if record.registration.start_at < cutoff:
                    self._drop(record, area, DropReason.TOO_OLD, now)
        for entry in self.spool.quarantined():
            recorded = entry.recorded_until or entry.quarantined_at
            if recorded and parse_iso(recorded) < cutoff:
                with self._lock:
                    self.spool.remove_quarantined(entry.name)
                event(log, logging.WARNING, "quarantine_expired", name=entry.name)

    def _enforce_quota(self, now: datetime) -> None:
        used = self.spool.usage().total_bytes
        if used <= self._settings().quota_bytes:
            return
        # Oldest pending first (the brief's rule), then failed clips, then quarantined files.
        victims = [(PENDING, record) for record in self.spool.clips(PENDING)]
        victims += [(FAILED, record) for record in self.spool.clips(FAILED)]
        for area, record in victims:
            if used <= self._settings().quota_bytes:
                return
            size = self.spool.clip_bytes(record.name, area)
            if self._drop(record, area, DropReason.QUOTA, now):
                used += self.spool.drop_bytes(record.name) - size
        for entry in self.spool.quarantined():
            if used <= self._settings().quota_bytes:
                return
            with self._lock:
                self.spool.remove_quarantined(entry.name)
            used -= entry.size
            event(log, logging.ERROR, "quarantine_dropped_for_quota", name=entry.name)
        if used > self._settings().quota_bytes:
            event(log, logging.ERROR, "quota_unreachable", used_bytes=used, quota_bytes=self._settings().quota_bytes)

    def _drop(self, record: ClipRecord, area: str, reason: DropReason, now: datetime) -> bool:
        with self._lock:
            if self._busy(record.name) or not self.spool.sidecar_path(record.name, area).exists():
                return False
            registration = record.registration
            if area != FAILED:
                drop = DropRecord(
                    record.name, registration.camera_id, registration.start, registration.end, reason, iso(now),
                    record.source,
                )  # fmt: skip
                # Drop record first: a crash before the clip is gone is finished by recover(), never uploaded.
                self.record(drop)
            # A failed clip's gap was reported (reason refused) when it failed: deleting its copy here loses
            # nothing more, so it is neither counted again nor reported with another reason.
            self.spool.remove_clip(record.name, area)
        # Loud: footage is lost here.
        event(
            log,
            logging.ERROR,
            "clip_dropped",
            name=record.name,
            reason=reason.value,
            camera_id=registration.camera_id,
            start=registration.start,
            end=registration.end,
        )
        return True

    def record(self, drop: DropRecord) -> None:
        """Keep the gap until the archive has been told of it, and count it."""
        self.spool.save_drop(drop)
        self._state.dropped_total += 1
        self._state.dropped_by_reason[drop.reason.value] = self._state.dropped_by_reason.get(drop.reason.value, 0) + 1
        self.spool.save_state(self._state)

    def report_due(self, now: datetime) -> None:
        """Tell the archive of every gap due, a hundred at a time; a refused one is tried again later."""
        with self._lock:
            due = [d for d in self.spool.drops() if d.retry_at is None or parse_iso(d.retry_at) <= now]
        for first in range(0, len(due), DROPS_PER_REPORT):
            batch = due[first : first + DROPS_PER_REPORT]
            try:
                self._report(batch)
            except Refused as refusal:
                if len(batch) == 1:
                    self._drop_refused(batch[0], refusal, now)
                    continue
                # One bad record must not hold back the rest: send them one by one to find it.
                for drop in batch:
                    try:
                        self._report([drop])
                    except Refused as single:
                        self._drop_refused(drop, single, now)

    def _report(self, drops: list[DropRecord]) -> None:
        self.api.report_drops([drop.report() for drop in drops])
        with self._lock:
            for drop in drops:
                self.spool.remove_drop(drop.name)
        event(log, logging.INFO, "drops_reported", count=len(drops))

    def _drop_refused(self, drop: DropRecord, refusal: Refused, now: datetime) -> None:
        # Never given up (a drop record is a few hundred bytes and its report is the only trace of
        # the gap), but spaced out like a clip's retries.
        attempts = drop.attempts + 1
        delay = min(self._settings().backoff_cap_seconds, self._settings().refusal_delay_seconds * 2 ** (attempts - 1))
        retry_at = iso(now + timedelta(seconds=delay))
        with self._lock:
            self.spool.save_drop(replace(drop, attempts=attempts, last_error=str(refusal), retry_at=retry_at))
        event(log, logging.ERROR, "drop_report_refused", name=drop.name, attempts=attempts, error=str(refusal))
