"""The Agent: take finished segments, seal them into the spool, upload each exactly once, report drops
and health. `run_once(now)` is one step of everything (tests drive it); `run()` is the service, with a
thread each for the sources, the uploads and the heartbeat, so a long PUT never delays taking clips.

Exactly once, end to end: the spool keeps a clip until the archive holds exactly its bytes, and a
registration is idempotent (the same camera, start and sha256 return the same clip), so a clip retried
after any crash or lost answer is the same clip in the archive, never a second one. "Holds" is S3's own
answer to the PUT where it can say so (the URL signs the sealed file's SHA-256 in, S3 refuses other bytes
and answers stored ones with that checksum: see api._vouched); otherwise the archive is asked ("received?").
A backlog goes `upload_concurrency` clips at a time, oldest first, each clip one worker's alone.

A clip over 100 MB goes as a multipart upload (the archive decides: its registration answer says
`multipart` instead of giving a URL), resumed part by part after a crash or an outage (gateway.agent.parts).
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.media.video import InvalidVideo, MediaLimits, VideoInfo, probe
from gateway.agent.ahead import REGISTRARS, Ahead, Lookahead
from gateway.agent.api import (
    USER_AGENT,
    ArchiveApi,
    NetworkError,
    Refused,
    Registered,
    Unauthorized,
    UploadExpired,
)
from gateway.agent.clock import iso, on_archive_clock, parse_iso, stamp, to_ms
from gateway.agent.config import AgentConfig
from gateway.agent.drops import Drops
from gateway.agent.durable import remove_durably
from gateway.agent.logs import event
from gateway.agent.parts import PartsUpload
from gateway.agent.receipts import Receipts
from gateway.agent.rtsp import make_sources
from gateway.agent.sealing import digest_of, parse_recipient, seal_to_temp
from gateway.agent.sources import Segment, Source
from gateway.agent.spool import (
    FAILED,
    PENDING,
    QUARANTINE,
    ClipRecord,
    ClipState,
    DropReason,
    DropRecord,
    Registration,
    SealedFile,
    SourceFile,
    Spool,
    format_reason,
)

log = logging.getLogger(__name__)

ProbeFunction = Callable[[Path, MediaLimits], VideoInfo]
# A corrupt file's start is unknown; the previous segment's end is trusted as its start if that is
# less than the longest clip the archive takes before it.
_MAX_GAP = timedelta(seconds=MediaLimits().max_duration_s)
_UNKNOWN_GAP = timedelta(seconds=1)
# The archive's code for a time its clock has not reached yet: time cures it, so it is no refusal.
NOT_YET = "not_yet"
# Officials read a refused clip's gap with the archive's last answer, cut to what the archive keeps.
DETAIL_CHARS = 300
# How an archive before not_yet refused a clip from the future: such a clip in failed/ (put there by an
# agent that counted it as a refusal) is only waiting for time, so a start gives it back to the uploads.
_OLD_NOT_YET = " is in the future"


class Backoff:
    """Exponential backoff with full jitter (a uniform pick in [0, min(cap, base·2^n)]): after an outage,
    many gateways do not all come back in the same second."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random) -> None:
        self._base_s = base_s
        self._cap_s = cap_s
        self._rng = rng
        self.failures = 0

    def next_delay(self) -> float:
        ceiling = min(self._cap_s, self._base_s * 2 ** min(self.failures, 32))
        self.failures += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.failures = 0


def clip_name(camera_id: str, start: datetime, sha256: str) -> str:
    """The spool's name for a clip: sorts by camera and time; the same recording always gets the same name."""
    return f"{camera_id}--{stamp(start)}--{sha256[:16]}"


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        *,
        api: ArchiveApi | None = None,
        sources: Sequence[Source] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
        probe_video: ProbeFunction = probe,
        limits: MediaLimits | None = None,
    ) -> None:
        self.config = config
        self.spool = Spool(config.spool_dir)
        self.api = api or ArchiveApi(
            config.api_url,
            config.token,
            timeout_s=config.request_timeout_seconds,
            upload_timeout_s=config.upload_timeout_seconds,
            proxy=config.proxy,
        )
        self.sources: list[Source] = list(sources) if sources is not None else make_sources(config)
        self._recipient = parse_recipient(config.site_recipient)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._probe = probe_video
        self._limits = limits or MediaLimits()
        # Backoff jitter only; nothing secret is drawn from it.
        self._backoff = Backoff(config.backoff_base_seconds, config.backoff_cap_seconds, rng or random.Random())  # noqa: S311
        # Guards every change to the spool's set of files and to `_state`, so the threads never see a
        # take, drop or removal half done, and `_in_flight`, the clips an upload is working on (quota
        # and age sweeps leave those alone: their PUT may already be on the wire).
        self._lock = threading.RLock()
        self._in_flight: set[str] = set()
        # Clips received whose spooled copies the receipts thread has yet to delete: left alone like those.
        self._leaving: set[str] = set()
        self._receipts = Receipts(self._remove_received)
        self._state = self.spool.load_state().without_future_segments(self._clock())
        self._drops = Drops(
            lambda: self.config,
            self.spool,
            self.api,
            self._state,
            self._lock,
            lambda name: name in self._in_flight or name in self._leaving,
        )
        self.next_upload_at: datetime | None = None
        self._next_heartbeat_at: datetime | None = None
        self._stop = threading.Event()
        self._parts = PartsUpload(self.api, self.spool, self._stop)
        self.recover()

    # start-up ---------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Repair the spool after a crash, then delete any plaintext a committed record was made from, and
        give back to the uploads a clip an older agent failed for being from the future.

        The second half covers a kill between a clip's commit (its sidecar) and its plaintext's deletion:
        deciding by the sidecar, not by the plaintext, the clip is taken once.
        """
        report = self.spool.recover()
        if report.anything():
            event(log, logging.WARNING, "spool_recovered", **asdict(report))
        folders = [camera.watch_dir.resolve() for camera in self.config.cameras]
        for source in self.spool.consumed_sources():
            path = Path(source.path)
            # Only inside a configured folder: a record never makes the agent delete anything else.
            if not any(path.resolve().is_relative_to(folder) for folder in folders) or not source.matches(path):
                continue
            try:
                remove_durably([path])
            except OSError as error:
                event(log, logging.ERROR, "plaintext_not_removed", path=str(path), error=str(error))
            else:
                event(log, logging.WARNING, "plaintext_removed_after_restart", path=str(path))
        for record in self.spool.clips(FAILED):
            if _OLD_NOT_YET in (record.last_error or "") and self.spool.sealed_path(record.name, FAILED).exists():
                state = ClipState.SEALED if record.clip_id is None else ClipState.REGISTERED
                self.spool.move_to_pending(replace(record, state=state, refusals=0, retry_at=None))
                event(log, logging.WARNING, "failed_clip_retried", name=record.name, error=record.last_error)

    # one step of everything -------------------------------------------------------------------------

    def run_once(self, now: datetime) -> None:
        self.poll_sources(now)
        self.enforce_limits(now)
        self.upload_pass(now)
        self.heartbeat_if_due(now)

    # taking clips -----------------------------------------------------------------------------------

    def poll_sources(self, now: datetime) -> None:
        for source in self.sources:
            for segment in source.poll(now):
                if self._stop.is_set():
                    return
                try:
                    self.take(source, segment, now)
                except Exception:
                    # One bad file must not stop the others; it is offered again at the next poll.
                    log.exception("take_failed", extra={"fields": {"path": str(segment.path)}})

    def take(self, source: Source, segment: Segment, now: datetime) -> str:
        """Probe, seal and spool one finished segment; what became of it."""
        recorded = self._recorded_span(source, segment, now)
        if isinstance(recorded, str):
            return recorded
        plain = digest_of(segment.path)
        if plain.size != segment.size:
            return "changed"  # written to since the polls agreed: offered again once stable
        recording = Registration(segment.camera_id, iso(recorded[0]), iso(recorded[1]), plain.size, plain.sha256)
        registration = self._judged(recording, now)
        start, end = registration.start_at, registration.end_at
        name = clip_name(segment.camera_id, start, plain.sha256)
        source_file = SourceFile(str(segment.path), segment.size, segment.mtime_ns)
        if now - start > timedelta(days=self.config.max_clip_age_days):
            drop = DropRecord(name, segment.camera_id, iso(start), iso(end), DropReason.TOO_OLD, iso(now), source_file)
            with self._lock:
                self._drops.record(drop)
                self._remove_plaintext(segment)
            source.handled(segment)
            event(log, logging.ERROR, "clip_dropped", name=name, reason="too_old", start=iso(start))
            return "too_old"
        outcome = self._spool_clip(segment, registration, name, source_file, now)
        source.handled(segment)
        return outcome

    def _recorded_span(self, source: Source, segment: Segment, now: datetime) -> tuple[datetime, datetime] | str:
        """The recording's start and end (end = mtime, start = end − probed duration), or what became
        of a segment that is not acceptable video."""
        end = to_ms(segment.ended_at)
        try:
            start = to_ms(end - timedelta(seconds=self._probe(segment.path, self._limits).duration_s))
            reason = "no duration" if start >= end else ""
        except InvalidVideo as bad:
            reason = bad.reason
        except FileNotFoundError:
            source.handled(segment)
            return "gone"
        if not reason:
            return start, end
        if now - segment.stable_since < timedelta(seconds=self.config.quarantine_after_seconds):
            return "waiting"  # maybe still being written: probed again at the next poll
        self._quarantine(segment, reason, now)
        source.handled(segment)
        return "quarantined"

    def _spool_clip(
        self, segment: Segment, registration: Registration, name: str, source_file: SourceFile, now: datetime
    ) -> str:
        if self.spool.has_clip(name):
            with self._lock:
                self._remove_plaintext(segment)
            return "duplicate"
        # Sealed outside the lock (it reads the whole clip); committed under it.
        temp, sealed = seal_to_temp(segment.path, self.spool.sealed_path(name), self._recipient)
        with self._lock:
            if self.spool.has_clip(name):
                # Never overwrite: the spooled copy's sealed sha256 may already be registered.
                temp.unlink(missing_ok=True)
                self._remove_plaintext(segment)
                return "duplicate"
            record = ClipRecord(
                name=name,
                registration=registration,
                sealed=SealedFile(sealed.size, sealed.sha256),
                source=source_file,
                taken_at=iso(now),
                clock_offset_s=self.api.clock_offset_s,
            )
            # Order: sealed file, sidecar (the commit point), then the plaintext. See spool.py.
            self.spool.commit_new(temp, record)
            if _later(registration.end, self._state.last_taken_at.get(segment.camera_id)):
                self._state.last_taken_at[segment.camera_id] = registration.end
                self.spool.save_state(self._state)
            self._remove_plaintext(segment)
        event(
            log,
            logging.INFO,
            "clip_spooled",
            name=name,
            camera_id=segment.camera_id,
            start=registration.start,
            end=registration.end,
            size=registration.size,
        )
        return "spooled"

    def _judged(self, registration: Registration, now: datetime) -> Registration:
        """The registration with its times on the archive's clock: an NVR clock running ahead would have
        the archive refuse the clip as from the future, so its times are moved back (see on_archive_clock),
        and by how much is recorded on the clip."""
        offset_s = self.api.clock_offset_s
        end, correction = on_archive_clock(registration.end_at, now, offset_s)
        if correction is None:
            return registration
        shift = registration.end_at - end
        event(
            log,
            logging.WARNING,
            "clock_corrected",
            camera_id=registration.camera_id,
            recorded_end=registration.end,
            end=iso(end),
            ahead_s=correction,
            archive_offset_s=offset_s,
        )
        return replace(
            registration,
            start=iso(registration.start_at - shift),
            end=iso(end),
            clock_correction_s=round((registration.clock_correction_s or 0.0) + correction, 3),
        )

    def _quarantine(self, segment: Segment, reason: str, now: datetime) -> None:
        """Seal a file that is not acceptable video into quarantine/, report it as a gap, delete the plaintext.

        Sealed like any clip: a truncated recording still shows people, and the box must leak nothing.
        """
        plain = digest_of(segment.path)
        recorded_end = to_ms(segment.ended_at)
        name = f"{segment.camera_id}--{stamp(recorded_end)}--{plain.sha256[:16]}"
        # The gap on the archive's clock like a clip's times (a fast NVR clock must not put it in the future).
        end, _ = on_archive_clock(recorded_end, now, self.api.clock_offset_s)
        source_file = SourceFile(str(segment.path), segment.size, segment.mtime_ns)
        temp, _ = seal_to_temp(segment.path, self.spool.sealed_path(name, QUARANTINE), self._recipient)
        reason_text = format_reason(
            {
                "reason": reason,
                "camera_id": segment.camera_id,
                "source_path": source_file.path,
                "source_size": str(source_file.size),
                "source_mtime_ns": str(source_file.mtime_ns),
                "recorded_until": iso(recorded_end),
                "sha256": plain.sha256,
                "quarantined_at": iso(now),
            }
        )
        drop = DropRecord(
            name, segment.camera_id, iso(self._gap_start(segment.camera_id, end)), iso(end), DropReason.CORRUPT,
            iso(now), source_file,
        )  # fmt: skip
        with self._lock:
            self.spool.commit_quarantine(temp, name, reason_text)
            self._drops.record(drop)
            self._remove_plaintext(segment)
        event(log, logging.ERROR, "file_quarantined", name=name, path=str(segment.path), reason=reason)

    def _gap_start(self, camera_id: str, end: datetime) -> datetime:
        last = self._state.last_taken_at.get(camera_id)
        if last is not None and end - _MAX_GAP < parse_iso(last) < end:
            return parse_iso(last)
        return end - _UNKNOWN_GAP

    def _remove_plaintext(self, segment: Segment) -> None:
        try:
            remove_durably([segment.path])
        except OSError as error:
            # The clip is safely spooled; a plaintext left behind is not taken twice (see recover and take).
            event(log, logging.ERROR, "plaintext_not_removed", path=str(segment.path), error=str(error))

    # limits: age and quota --------------------------------------------------------------------------

    def enforce_limits(self, now: datetime) -> None:
        self._drops.enforce_limits(now)

    # uploading --------------------------------------------------------------------------------------

    def upload_pass(self, now: datetime) -> None:
        """Report drops, then move every pending clip on by as much as it can go, oldest first."""
        if self.next_upload_at is not None and now < self.next_upload_at:
            return
        started = time.monotonic()

        def current() -> datetime:
            # A pass over a backlog can take long; expiry and timeouts need the time of each step.
            return now + timedelta(seconds=time.monotonic() - started)

        try:
            self._drops.report_due(now)
            with self._lock:
                records = self.spool.clips(PENDING)
            self._advance_all([record for record in records if not _waiting(record, current())], current)
        except (NetworkError, Unauthorized) as error:
            delay = self._backoff.next_delay()
            self.next_upload_at = current() + timedelta(seconds=delay)
            event(
                log,
                logging.ERROR if isinstance(error, Unauthorized) else logging.WARNING,
                "credential_refused" if isinstance(error, Unauthorized) else "archive_unreachable",
                error=str(error),
                failures=self._backoff.failures,
                retry_in_s=round(delay, 1),
            )
            return
        self._backoff.reset()
        self.next_upload_at = None

    def _advance_all(self, records: list[ClipRecord], current: Callable[[], datetime]) -> None:
        """Move the clips on, up to `upload_concurrency` at once, each taken oldest first: over a long round
        trip a clip's requests mostly wait. The clips are registered ahead, many in a request, while the
        workers upload those registered already (gateway.agent.ahead). Each clip is still one worker's alone
        from its sidecar read to its last write (a registration made ahead writes nothing: its worker
        does; its copy's removal once the archive holds it is the receipts thread's, gateway.agent.receipts,
        and the sweeps leave it alone until then), and each of its steps is durable before the next, so a
        kill finds every clip in a state `recover()` and the next pass continue from. The first network error
        (or anything a thread did not expect) starts no further clip, lets the others finish their own, and is
        raised here."""
        lookahead = Lookahead(records, self.config.upload_concurrency, self._stop)
        registrars = [
            threading.Thread(target=self._register_ahead, args=(lookahead, current), name=f"registrar-{n}", daemon=True)
            for n in range(1, REGISTRARS + 1)
        ]

        def work() -> None:
            while (taken := lookahead.take()) is not None:
                try:
                    self._advance(*taken, now=current())
                except BaseException as failure:  # noqa: BLE001 - re-raised in the pass's own thread below
                    lookahead.fail(failure)
                finally:
                    lookahead.done()

        helpers = [
            threading.Thread(target=work, name=f"upload-{number}", daemon=True)
            for number in range(1, min(self.config.upload_concurrency, len(records)))
        ]
        with self._receipts.running():
            for thread in registrars + helpers:
                thread.start()
            work()  # this thread is one of the workers
            for thread in helpers + registrars:
                thread.join()
        with self._lock:
            self._in_flight -= lookahead.untaken()
        if lookahead.failures:
            raise lookahead.failures[0]

    def _register_ahead(self, lookahead: Lookahead, current: Callable[[], datetime]) -> None:
        """A registrar: batch after batch, as far ahead as `lookahead` lets it. A batch the archive refuses
        as a whole (an archive without the batch route, say) is no clip's refusal: the workers then register
        each clip alone, as they would without a registrar."""
        try:
            while (batch := lookahead.next_batch())[1]:
                number, claimed = batch[0], self._claim(batch[1], lookahead)
                started = time.monotonic()
                try:
                    registered = self._registered_ahead(claimed)
                except Refused as refusal:
                    event(log, logging.WARNING, "batch_registration_refused", clips=len(claimed), error=str(refusal))
                    lookahead.unregistered(number, claimed)
                    break
                seconds = round(time.monotonic() - started, 3)
                event(log, logging.DEBUG, "registered_ahead", clips=len(claimed), seconds=seconds)
                lookahead.deliver(
                    number, claimed, registered, _url_lifetime_s(registered, current(), self.api.clock_offset_s)
                )
        except BaseException as failure:  # noqa: BLE001 - raised by the pass, see _advance_all
            lookahead.fail(failure)
        finally:
            lookahead.finish()

    def _claim(self, batch: list[ClipRecord], lookahead: Lookahead) -> list[ClipRecord]:
        """The batch's clips as saved now, marked in flight (the quota and age sweeps leave them alone until
        their worker is done with them); any dropped meanwhile left out."""
        with self._lock:
            fresh = [record for record in map(self.spool.read_clip, (r.name for r in batch)) if record is not None]
            self._in_flight.update(record.name for record in fresh)
            lookahead.claim([record.name for record in fresh])
        return fresh

    def _registered_ahead(self, records: list[ClipRecord]) -> list[Ahead]:
        """Register the clips that need it (not those uploaded already, waiting for "received?"): several in
        one request, a lone one as ever, its refusal handed to its worker like the batch's."""
        wanted = [record for record in records if record.state is not ClipState.UPLOADED]
        if len(wanted) == 1:
            try:
                answers: list[Ahead] = [self.api.register(wanted[0].registration, wanted[0].sealed)]
            except Refused as refusal:
                answers = [refusal]
        else:
            answers = list(self.api.register_batch([(r.registration, r.sealed) for r in wanted])) if wanted else []
        made = dict(zip((record.name for record in wanted), answers, strict=True))
        return [made.get(record.name) for record in records]

    def _advance(self, name: str, ahead: Ahead, now: datetime) -> None:
        with self._lock:
            record = self.spool.read_clip(name)
            if record is None:
                return  # dropped meanwhile
            self._in_flight.add(name)
        try:
            if record.state is not ClipState.UPLOADED:
                sent = self._send(record, now, ahead)
                if sent is None:
                    return
                record = sent
            self._confirm(record, now)
        except Refused as refusal:
            self._refused(name, refusal, now)
        except OSError as error:
            # The sealed file cannot be read (network errors never arrive here as OSError): the
            # clip's own problem, so it spends the clip's budget and does not stall the others.
            event(log, logging.ERROR, "sealed_file_unreadable", name=name, error=str(error))
            self._refused(name, error, now)
        finally:
            with self._lock:
                self._in_flight.discard(name)

    def _send(self, record: ClipRecord, now: datetime, ahead: Ahead = None) -> ClipRecord | None:
        """Register (a fresh URL each time, asked for just before use, or `ahead` while it is fresh) and PUT
        the sealed file, or send it in parts if the archive says so.

        The record in state UPLOADED (the archive is to be asked whether it has the bytes), or None: the
        clip is received and gone from the spool, or is tried again at a later pass.
        """
        for attempt in range(2):
            record, registered = self._register(record, ahead if attempt == 0 else None)
            ticket = registered.upload
            if ticket is None and registered.multipart:
                if registered.part_size is None:
                    raise Refused(0, "no_part_size", "the archive asks for parts but does not say their size")
                assembled = self._parts.send(record, registered.part_size, now)
                return None if assembled is None else self._mark_uploaded(*assembled)
            if registered.received:  # an earlier PUT whose answer was lost (or a kill before the removal)
                self._received(record, now, registered.status, None)
                return None
            if ticket is None:
                return self._mark_uploaded(record, now)
            server_now = now + timedelta(seconds=self.api.clock_offset_s or 0.0)
            if attempt == 0 and ticket.expired(server_now):
                event(log, logging.INFO, "upload_url_expired", name=record.name, before="put")
                continue
            try:
                vouched = self.api.put(ticket, self.spool.sealed_path(record.name))
            except UploadExpired as expired:
                # Not the clip's fault and not a failure: a new registration brings a new URL.
                event(log, logging.INFO, "upload_url_expired", name=record.name, before="answer", error=str(expired))
                continue
            if vouched:
                # S3 verified the SHA-256 signed into the URL: the archive holds exactly these bytes, which is
                # all its "received" would say, and ingest's verdict on them could not change with our copy.
                self._received(record, now, registered.status, None)
                return None
            return self._mark_uploaded(record, now)
        return None

    def _register(self, record: ClipRecord, ahead: Ahead = None) -> tuple[ClipRecord, Registered]:
        """Register the clip (or take its registration made ahead) and write down what the archive said."""
        if isinstance(ahead, Refused):
            raise ahead
        registered = ahead or self.api.register(record.registration, record.sealed)
        camera_id, end = record.registration.camera_id, record.registration.end
        with self._lock:
            # Only what the archive accepted says a camera is recording: a clip it refuses (one from the
            # future above all) must not hide that the camera has gone silent.
            # Written down with the next save of the state (the clip's own removal, as a rule), not here:
            # a restart before that registers the clip again, which moves it on again.
            if _later(end, self._state.last_segment_at.get(camera_id)):
                self._state.last_segment_at[camera_id] = end
        changed = record
        if record.clip_id != registered.clip_id:
            changed = replace(changed, clip_id=registered.clip_id)
        if record.state is ClipState.SEALED:
            changed = _progressed(changed, ClipState.REGISTERED)
        if changed != record:
            self.spool.save(changed)
        return changed, registered

    def _mark_uploaded(self, record: ClipRecord, now: datetime) -> ClipRecord:
        uploaded = replace(_progressed(record, ClipState.UPLOADED), uploaded_at=iso(now))
        self.spool.save(uploaded)
        return uploaded

    def _received(self, record: ClipRecord, now: datetime, status: str, quarantine_reason: str | None) -> None:
        """The archive holds exactly the clip's bytes: its spooled copy is to be deleted, once, by the pass's
        receipts thread (see gateway.agent.receipts); until then the sweeps leave it alone."""
        with self._lock:
            self._leaving.add(record.name)
        self._receipts.add(Receipt(record, now, status, quarantine_reason))

    def _remove_received(self, receipts: list[Receipt]) -> None:
        """Delete the spooled copies of clips the archive holds, together, and count them uploaded."""
        names = [receipt.record.name for receipt in receipts]
        try:
            with self._lock:
                self.spool.remove_clips(names)
                self._state.last_upload_at = iso(max(receipt.at for receipt in receipts))
                self._state.uploaded_clips += len(receipts)
                self._state.uploaded_bytes += sum(receipt.record.sealed.size for receipt in receipts)
                self.spool.save_state(self._state)
        finally:
            with self._lock:
                self._leaving.difference_update(names)
        for receipt in receipts:
            event(
                log,
                logging.WARNING if receipt.quarantine_reason else logging.INFO,
                "clip_uploaded",
                name=receipt.record.name,
                clip_id=receipt.record.clip_id,
                status=receipt.status,
                quarantine_reason=receipt.quarantine_reason,
            )

    def _confirm(self, record: ClipRecord, now: datetime) -> None:
        """Delete the spooled copy once, and only once, the archive says it has received the clip (asked
        only where S3's answer did not vouch for the bytes: a multipart upload, a store without checksums)."""
        if record.clip_id is None:  # cannot happen after a registration; be safe and register again
            self.spool.save(replace(record, state=ClipState.REGISTERED))
            return
        try:
            state = self.api.clip_state(record.clip_id)
        except Refused as refusal:
            if refusal.status == 404:
                # The archive does not know this id (any more): register again, which also counts.
                self.spool.save(replace(record, state=ClipState.REGISTERED, uploaded_at=None, multipart=None))
            raise
        if state.received:
            self._received(record, now, state.status, state.quarantine_reason)
            return
        uploaded_at = parse_iso(record.uploaded_at) if record.uploaded_at else now
        if now - uploaded_at > timedelta(seconds=self.config.confirm_timeout_seconds):
            # The PUT was answered 2xx yet the archive never saw the bytes: send them again.
            self.spool.save(replace(record, state=ClipState.REGISTERED, uploaded_at=None, multipart=None))
            event(log, logging.WARNING, "clip_not_confirmed", name=record.name, clip_id=record.clip_id)

    def _refused(self, name: str, refusal: Exception, now: datetime) -> None:
        record = self.spool.read_clip(name)  # the latest saved: it may carry a clip_id by now
        if record is None:
            return
        if isinstance(refusal, Refused) and refusal.code == NOT_YET:
            self._not_yet(record, refusal, now)
            return
        refusals = record.refusals + 1
        if refusals >= self.config.max_refusals:
            failed = replace(record, state=ClipState.FAILED, refusals=refusals, last_error=str(refusal), retry_at=None)
            registration = record.registration
            detail = "".join(c for c in str(refusal) if c.isprintable())[:DETAIL_CHARS]
            drop = DropRecord(
                name, registration.camera_id, registration.start, registration.end, DropReason.REFUSED, iso(now),
                record.source, detail=detail,
            )  # fmt: skip
            with self._lock:
                # The gap first: a clip in failed/ is never without the report that tells officials of it.
                self._drops.record(drop)
                self.spool.move_to_failed(failed)
            event(log, logging.ERROR, "clip_failed", name=name, refusals=refusals, error=str(refusal))
            return
        delay = min(self.config.backoff_cap_seconds, self.config.refusal_delay_seconds * 2 ** (refusals - 1))
        retry_at = iso(now + timedelta(seconds=delay))
        self.spool.save(replace(record, refusals=refusals, last_error=str(refusal), retry_at=retry_at))
        event(log, logging.WARNING, "clip_refused", name=name, refusals=refusals, error=str(refusal), retry_at=retry_at)

    def _not_yet(self, record: ClipRecord, refusal: Refused, now: datetime) -> None:
        """The archive's clock has not reached the clip's end: time cures that, so the refusal budget is
        left alone. A clip the archive never took is judged again against the offset known now (the take
        may have had none yet); it is tried again once its end has passed on the archive's clock."""
        registration = record.registration
        if record.clip_id is None:
            registration = self._judged(registration, now)
        offset = timedelta(seconds=self.api.clock_offset_s or 0.0)
        wait_s = (registration.end_at - (now + offset)).total_seconds()
        delay = min(self.config.backoff_cap_seconds, max(self.config.refusal_delay_seconds, wait_s))
        retry_at = iso(now + timedelta(seconds=delay))
        self.spool.save(replace(record, registration=registration, last_error=str(refusal), retry_at=retry_at))
        event(log, logging.WARNING, "clip_not_yet", name=record.name, error=str(refusal), retry_at=retry_at)

    # heartbeat --------------------------------------------------------------------------------------

    def heartbeat_body(self, now: datetime) -> dict[str, Any]:
        """Exactly the keys the archive accepts (it refuses unknown ones)."""
        usage = self.spool.usage()
        oldest = min((record.registration.end_at for record in self.spool.clips(PENDING)), default=None)
        return {
            "version": USER_AGENT,
            "spool_clips": usage.pending.items + usage.failed.items,
            "spool_bytes": usage.total_bytes,
            "oldest_pending_s": round(max(0.0, (now - oldest).total_seconds()), 3) if oldest else 0.0,
            "dropped_clips": self._state.dropped_total,
            "failed_clips": usage.failed.items,
            "free_disk_bytes": shutil.disk_usage(self.spool.root).free,
            "clock_offset_s": self.api.clock_offset_s or 0.0,
            "cameras": {
                source.camera_id: {
                    "last_segment_at": self._state.last_segment_at.get(source.camera_id),
                    "restarts": source.restarts,
                }
                for source in self.sources
            },
        }

    def heartbeat(self, now: datetime) -> bool:
        try:
            self.api.heartbeat(self.heartbeat_body(now))
        except (NetworkError, Unauthorized, Refused, UploadExpired) as error:
            event(log, logging.WARNING, "heartbeat_failed", error=str(error))
            return False
        return True

    def heartbeat_if_due(self, now: datetime) -> None:
        if self._next_heartbeat_at is None or now >= self._next_heartbeat_at:
            self.heartbeat(now)
            self._next_heartbeat_at = now + timedelta(seconds=self.config.heartbeat_seconds)

    # the service ------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self, join_timeout_s: float = 10.0) -> None:
        """Run until `stop()` (SIGTERM, see cli): a thread each for sources, uploads and heartbeat."""
        steps: dict[str, Callable[[datetime], float]] = {
            "sources": self._sources_step,
            "uploads": self._uploads_step,
            "heartbeat": self._heartbeat_step,
        }
        # Daemon threads: if a PUT outlasts the join timeout, exiting mid-PUT is safe (see _send).
        workers = [threading.Thread(target=self._loop, args=(step,), name=n, daemon=True) for n, step in steps.items()]
        event(log, logging.INFO, "agent_started", version=USER_AGENT, cameras=[s.camera_id for s in self.sources])
        for worker in workers:
            worker.start()
        self._stop.wait()
        deadline = time.monotonic() + join_timeout_s  # one budget for all: systemd's stop timeout is 30 s
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        for source in self.sources:
            source.close()
        event(log, logging.INFO, "agent_stopped")

    def _loop(self, step: Callable[[datetime], float]) -> None:
        while not self._stop.is_set():
            try:
                wait_s = step(self._clock())
            except Exception:
                log.exception("step_failed", extra={"fields": {"thread": threading.current_thread().name}})
                wait_s = self.config.poll_seconds
            self._stop.wait(max(wait_s, 0.05))

    def _sources_step(self, now: datetime) -> float:
        self.poll_sources(now)
        self.enforce_limits(now)
        return self.config.poll_seconds

    def _uploads_step(self, now: datetime) -> float:
        self.upload_pass(now)
        if self.next_upload_at is not None:
            return (self.next_upload_at - self._clock()).total_seconds()
        return self.config.poll_seconds

    def _heartbeat_step(self, now: datetime) -> float:
        self.heartbeat(now)
        return self.config.heartbeat_seconds


@dataclass(frozen=True)
class Receipt:
    """A clip the archive holds (`status` its answer), learnt `at`."""

    record: ClipRecord
    at: datetime
    status: str
    quarantine_reason: str | None


def _url_lifetime_s(registered: Sequence[Ahead], now: datetime, offset_s: float | None) -> float | None:
    """How long the archive's upload URLs live, from the first of a batch's tickets (None: no ticket)."""
    server_now = now + timedelta(seconds=offset_s or 0.0)
    for answer in registered:
        if isinstance(answer, Registered) and answer.upload is not None and answer.upload.expires_at is not None:
            return (answer.upload.expires_at - server_now).total_seconds()
    return None


def _later(moment: str, than: str | None) -> bool:
    """Whether `moment` is after `than` (None: nothing yet); both fixed-width UTC ISO, so text order is time order."""
    return than is None or than < moment


def _waiting(record: ClipRecord, now: datetime) -> bool:
    """Whether a refused clip's retry time is still ahead."""
    return record.retry_at is not None and parse_iso(record.retry_at) > now


def _progressed(record: ClipRecord, state: ClipState) -> ClipRecord:
    """The clip moved a state on: its refusal budget starts afresh."""
    return replace(record, state=state, refusals=0, retry_at=None, last_error=None)
