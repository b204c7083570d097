"""The on-disk spool: sealed clips with their JSON sidecars, drop records, quarantine, agent state.

Layout under spool_dir (mode 0700):
    pending/NAME.age   the sealed clip            pending/NAME.json  its sidecar (the clip record; for a
                                                  clip sent in parts, its upload id and the parts stored)
    failed/NAME.age    refused max_refusals times failed/NAME.json   with last_error
    quarantine/NAME.age + NAME.reason.txt         a watched file that is not video (sealed as well)
    drops/NAME.json    a dropped clip not yet reported to the archive
    state.json         last upload, drop counters, each camera's last segment

Every write goes through gateway.agent.durable. The protocol that makes a SIGKILL anywhere harmless:
    take:     sealed file renamed in → sidecar written (the commit point) → plaintext deleted
    confirm:  sealed file deleted → sidecar deleted (several clips: all their sealed files, then all sidecars)
    drop:     drop record written → sealed file deleted → sidecar deleted
    fail:     failed/ sidecar written → sealed file renamed → pending/ sidecar deleted
so `recover()` can finish or undo each half-done step from what it finds (see there).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from gateway.agent.clock import CLOCK_TOLERANCE, parse_iso
from gateway.agent.durable import (
    atomic_write_json,
    atomic_write_text,
    clean_temp_files,
    fsync_dir,
    is_temp,
    publish,
    remove_durably,
    remove_together,
)

log = logging.getLogger(__name__)

PENDING = "pending"
FAILED = "failed"
QUARANTINE = "quarantine"
DROPS = "drops"
AREAS = (PENDING, FAILED, QUARANTINE, DROPS)
SEALED_SUFFIX = ".age"
SIDECAR_SUFFIX = ".json"
REASON_SUFFIX = ".reason.txt"
STATE_FILE = "state.json"
RECORD_FORMAT = 1


class ClipState(StrEnum):
    SEALED = "sealed"  # in pending/, not registered yet
    REGISTERED = "registered"  # the archive knows it (clip_id kept); its bytes are still to be sent
    UPLOADED = "uploaded"  # answered 2xx without S3 vouching for the bytes (parts, say); awaiting `received`
    FAILED = "failed"  # in failed/: refused max_refusals times; needs a person


class DropReason(StrEnum):
    QUOTA = "quota"
    TOO_OLD = "too_old"
    CORRUPT = "corrupt"
    REFUSED = "refused"  # refused by the archive for good: the clip stays in failed/, the gap is reported


@dataclass(frozen=True)
class SourceFile:
    """Which watched file a record came from: its deletion after a crash is decided by this identity."""

    path: str
    size: int
    mtime_ns: int

    def matches(self, path: Path) -> bool:
        try:
            stat = path.stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True)
class Registration:
    """What the archive is told about the PLAINTEXT clip; times as ISO strings so retries are byte-equal."""

    camera_id: str
    start: str
    end: str
    size: int
    sha256: str
    # Seconds the times were moved back because the NVR's clock ran ahead of the archive's (None: not moved).
    clock_correction_s: float | None = None

    @property
    def start_at(self) -> datetime:
        return parse_iso(self.start)

    @property
    def end_at(self) -> datetime:
        return parse_iso(self.end)


@dataclass(frozen=True)
class SealedFile:
    size: int
    sha256: str


@dataclass(frozen=True)
class MultipartProgress:
    """A large clip's multipart upload as last seen: the archive's upload id and the parts known stored.

    For status and logs: at every start or resumption the agent asks the archive, whose list of the
    parts S3 holds is the truth, and sends only the parts missing from it.
    """

    upload_id: str
    part_size: int
    parts_total: int
    parts_done: tuple[int, ...] = ()

    def with_part(self, number: int) -> MultipartProgress:
        return replace(self, parts_done=tuple(sorted({*self.parts_done, number})))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        return cls(
            upload_id=str(raw["upload_id"]),
            part_size=int(raw["part_size"]),
            parts_total=int(raw["parts_total"]),
            parts_done=tuple(sorted(int(number) for number in raw.get("parts_done", ()))),
        )


@dataclass(frozen=True)
class ClipRecord:
    """The sidecar: everything the agent knows about one spooled clip."""

    name: str
    registration: Registration
    sealed: SealedFile
    source: SourceFile
    taken_at: str
    clock_offset_s: float | None
    state: ClipState = ClipState.SEALED
    clip_id: str | None = None
    refusals: int = 0
    retry_at: str | None = None
    last_error: str | None = None
    uploaded_at: str | None = None
    # Only for a clip the archive takes in parts (over 100 MB), once its multipart upload has begun.
    multipart: MultipartProgress | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT} | asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        fields = {key: value for key, value in raw.items() if key != "format"}
        return cls(
            **fields
            | {
                "registration": Registration(**raw["registration"]),
                "sealed": SealedFile(**raw["sealed"]),
                "source": SourceFile(**raw["source"]),
                "state": ClipState(raw["state"]),
                "multipart": MultipartProgress.from_json(raw["multipart"]) if raw.get("multipart") else None,
            }
        )


@dataclass(frozen=True)
class DropRecord:
    """A clip dropped at the edge, kept until the archive has been told (POST /gateway/drops)."""

    name: str
    camera_id: str
    start: str
    end: str
    reason: DropReason
    dropped_at: str
    source: SourceFile | None = None
    attempts: int = 0
    retry_at: str | None = None
    last_error: str | None = None
    detail: str | None = None  # why, for officials (a refused clip: the archive's last answer)

    def report(self) -> dict[str, str]:
        """Exactly the keys the archive accepts for one drop."""
        report = {"camera_id": self.camera_id, "start": self.start, "end": self.end, "reason": self.reason.value}
        return report | ({"detail": self.detail} if self.detail else {})

    def to_json(self) -> dict[str, Any]:
        return {"format": RECORD_FORMAT} | asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        fields = {key: value for key, value in raw.items() if key != "format"}
        source = SourceFile(**raw["source"]) if raw.get("source") else None
        return cls(**fields | {"reason": DropReason(raw["reason"]), "source": source})


@dataclass(frozen=True)
class QuarantineEntry:
    name: str
    size: int
    quarantined_at: str
    recorded_until: str
    reason: str
    source: SourceFile | None


@dataclass
class AgentState:
    """Small facts that outlive a restart: shown by `status`, sent in the heartbeat."""

    last_upload_at: str | None = None
    dropped_total: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    # Each camera's newest clip the archive accepted (the heartbeat's, for the silence check) and the
    # newest taken into the spool (where a corrupt file's gap starts).
    last_segment_at: dict[str, str] = field(default_factory=dict)
    last_taken_at: dict[str, str] = field(default_factory=dict)
    # Clips (and their sealed bytes) the archive has confirmed, ever: `status --follow` measures progress by them.
    uploaded_clips: int = 0
    uploaded_bytes: int = 0

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        # A key missing (a state file written by an older agent) keeps its default.
        known = {f.name: raw.get(f.name) for f in fields(cls)}
        return cls(**{key: value for key, value in known.items() if value is not None})

    def without_future_segments(self, now: datetime) -> Self:
        """This state less any camera's last segment later than `now`: one an older agent took from a clip
        the archive refused (or a clock since set back) would tell the archive a silent camera is recording.
        Forgetting a true one costs nothing: the archive indexed that clip, and goes by it."""
        return replace(
            self,
            last_segment_at={
                camera_id: at for camera_id, at in self.last_segment_at.items() if _not_after(at, now + CLOCK_TOLERANCE)
            },
        )


@dataclass(frozen=True)
class AreaUsage:
    items: int
    bytes: int


@dataclass(frozen=True)
class Usage:
    pending: AreaUsage
    failed: AreaUsage
    quarantine: AreaUsage
    drops: AreaUsage
    other_bytes: int

    @property
    def total_bytes(self) -> int:
        areas = (self.pending, self.failed, self.quarantine, self.drops)
        return sum(area.bytes for area in areas) + self.other_bytes


@dataclass
class Recovery:
    """What `recover()` found and did, for the start-up log."""

    temp_files: list[str] = field(default_factory=list)
    orphan_sealed: list[str] = field(default_factory=list)
    orphan_sidecars: list[str] = field(default_factory=list)
    finished_moves: list[str] = field(default_factory=list)
    finished_drops: list[str] = field(default_factory=list)
    orphan_quarantine: list[str] = field(default_factory=list)

    def anything(self) -> bool:
        return any(asdict(self).values())


class SpoolError(RuntimeError):
    pass


class Spool:
    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = root
        if create:
            # 0700: the sealed files leak nothing, but sizes and times are nobody else's business either.
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            for area in AREAS:
                (root / area).mkdir(mode=0o700, exist_ok=True)
        elif not root.is_dir():
            raise SpoolError(f"no spool at {root}")

    # paths ------------------------------------------------------------------------------------------

    def area(self, name: str) -> Path:
        return self.root / name

    def sealed_path(self, name: str, area: str = PENDING) -> Path:
        return self.root / area / f"{name}{SEALED_SUFFIX}"

    def sidecar_path(self, name: str, area: str = PENDING) -> Path:
        return self.root / area / f"{name}{SIDECAR_SUFFIX}"

    def reason_path(self, name: str) -> Path:
        return self.root / QUARANTINE / f"{name}{REASON_SUFFIX}"

    # clips ------------------------------------------------------------------------------------------

    def has_clip(self, name: str) -> bool:
        return any(self.sidecar_path(name, area).exists() for area in (PENDING, FAILED))

    def clips(self, area: str = PENDING) -> list[ClipRecord]:
        """The clip records in `area`, oldest recording first."""
        records = [
            record
            for path in self._listing(area, SIDECAR_SUFFIX)
            if (record := self._read_record(path, area)) is not None
        ]
        return sorted(records, key=lambda record: (record.registration.start, record.name))

    def read_clip(self, name: str, area: str = PENDING) -> ClipRecord | None:
        path = self.sidecar_path(name, area)
        return self._read_record(path, area) if path.exists() else None

    def commit_new(self, sealed_temp: Path, record: ClipRecord) -> None:
        """Rename the sealed temp file in, then write the sidecar: from here on the clip is spooled."""
        publish(sealed_temp, self.sealed_path(record.name))
        self.save(record)

    def save(self, record: ClipRecord, area: str = PENDING) -> None:
        atomic_write_json(self.sidecar_path(record.name, area), record.to_json())

    def remove_clip(self, name: str, area: str = PENDING) -> None:
        self.remove_clips([name], area)

    def remove_clips(self, names: Sequence[str], area: str = PENDING) -> None:
        # Sealed files first: a sidecar without its sealed file is recognisably a removal cut short.
        remove_together([self.sealed_path(name, area) for name in names])
        remove_together([self.sidecar_path(name, area) for name in names])

    def move_to_failed(self, record: ClipRecord) -> None:
        # failed/ sidecar first: once it exists the clip counts as failed, and recover() completes the move.
        self.save(record, FAILED)
        sealed = self.sealed_path(record.name, PENDING)
        if sealed.exists():  # it may be what failed (unreadable, deleted by hand)
            sealed.replace(self.sealed_path(record.name, FAILED))
            fsync_dir(self.area(FAILED))
        fsync_dir(self.area(PENDING))
        remove_durably([self.sidecar_path(record.name, PENDING)])

    def move_to_pending(self, record: ClipRecord) -> None:
        """Give a failed clip back to the uploads: pending/ sidecar, sealed file, and the failed/ sidecar
        last, so a crash before that leaves it failed (recover() completes a move to failed/)."""
        self.save(record)
        self.sealed_path(record.name, FAILED).replace(self.sealed_path(record.name))
        fsync_dir(self.area(PENDING))
        fsync_dir(self.area(FAILED))
        remove_durably([self.sidecar_path(record.name, FAILED)])

    def clip_bytes(self, name: str, area: str = PENDING) -> int:
        return sum(_size(path) for path in (self.sealed_path(name, area), self.sidecar_path(name, area)))

    # drops ------------------------------------------------------------------------------------------

    def drops(self) -> list[DropRecord]:
        drops: list[DropRecord] = []
        for path in self._listing(DROPS, SIDECAR_SUFFIX):
            raw = _read_json(path)
            if raw is not None:
                try:
                    drops.append(DropRecord.from_json(raw))
                except (KeyError, TypeError, ValueError) as error:
                    log.error("unreadable drop record", extra={"fields": {"path": str(path), "error": str(error)}})
        return sorted(drops, key=lambda drop: (drop.dropped_at, drop.name))

    def save_drop(self, drop: DropRecord) -> None:
        atomic_write_json(self.root / DROPS / f"{drop.name}{SIDECAR_SUFFIX}", drop.to_json())

    def drop_bytes(self, name: str) -> int:
        return _size(self.root / DROPS / f"{name}{SIDECAR_SUFFIX}")

    def remove_drop(self, name: str) -> None:
        remove_durably([self.root / DROPS / f"{name}{SIDECAR_SUFFIX}"])

    # quarantine -------------------------------------------------------------------------------------

    def commit_quarantine(self, sealed_temp: Path, name: str, reason_text: str) -> None:
        publish(sealed_temp, self.sealed_path(name, QUARANTINE))
        atomic_write_text(self.reason_path(name), reason_text)

    def quarantined(self) -> list[QuarantineEntry]:
        entries: list[QuarantineEntry] = []
        for path in self._listing(QUARANTINE, REASON_SUFFIX):
            name = path.name.removesuffix(REASON_SUFFIX)
            try:
                fields = parse_reason(path.read_text())
            except OSError:
                continue
            entries.append(
                QuarantineEntry(
                    name=name,
                    size=self.clip_bytes_quarantined(name),
                    quarantined_at=fields.get("quarantined_at", ""),
                    recorded_until=fields.get("recorded_until", ""),
                    reason=fields.get("reason", ""),
                    source=_source_from_reason(fields),
                )
            )
        return sorted(entries, key=lambda entry: (entry.quarantined_at, entry.name))

    def clip_bytes_quarantined(self, name: str) -> int:
        return _size(self.sealed_path(name, QUARANTINE)) + _size(self.reason_path(name))

    def remove_quarantined(self, name: str) -> None:
        remove_durably([self.sealed_path(name, QUARANTINE), self.reason_path(name)])

    # state ------------------------------------------------------------------------------------------

    def load_state(self) -> AgentState:
        raw = _read_json(self.root / STATE_FILE)
        if raw is None:
            return AgentState()
        try:
            return AgentState.from_json(raw)
        except (KeyError, TypeError) as error:
            log.error("unreadable state.json; starting afresh", extra={"fields": {"error": str(error)}})
            return AgentState()

    def save_state(self, state: AgentState) -> None:
        atomic_write_json(self.root / STATE_FILE, asdict(state))

    # accounting -------------------------------------------------------------------------------------

    def usage(self) -> Usage:
        def area(name: str, suffix: str) -> AreaUsage:
            files = [path for path in self._files(name) if not is_temp(path)]
            return AreaUsage(
                items=sum(1 for path in files if path.name.endswith(suffix)), bytes=sum(_size(p) for p in files)
            )

        other = sum(_size(path) for path in self.root.iterdir() if path.is_file())
        return Usage(
            pending=area(PENDING, SIDECAR_SUFFIX),
            failed=area(FAILED, SIDECAR_SUFFIX),
            quarantine=area(QUARANTINE, REASON_SUFFIX),
            drops=area(DROPS, SIDECAR_SUFFIX),
            other_bytes=other,
        )

    # crash recovery ---------------------------------------------------------------------------------

    def recover(self) -> Recovery:
        """Finish or undo whatever a killed agent left half done. Run before any thread starts.

        - temp files: an interrupted write; the thing written is redone from its source.
        - a name with a sidecar in failed/: a move to failed/ cut short; complete it.
        - a drop record whose clip is still spooled: a drop cut short; finish deleting the clip (not for a
          refused clip: its gap is reported while the clip itself stays in failed/ for a person).
        - a sidecar without its sealed file: a removal cut short (the sealed file goes first); finish it.
        - a sealed file without any sidecar: a take cut short before its commit point; the plaintext
          is still in the watched folder (it is deleted only after the sidecar), so drop the sealed file.
        - a quarantined sealed file without its reason, or the reverse: same two cases for quarantine.
        """
        report = Recovery()
        for area in (*AREAS, ""):
            report.temp_files += [str(path) for path in clean_temp_files(self.root / area)]
        self._finish_moves(report)
        self._finish_drops(report)
        # Not failed/: a failed sidecar whose sealed file is gone is what a person needs to see.
        self._pair_up(PENDING, SIDECAR_SUFFIX, report)
        self._pair_up(QUARANTINE, REASON_SUFFIX, report)
        return report

    def consumed_sources(self) -> list[SourceFile]:
        """The watched files every record here was made from: each must be gone from its folder."""
        sources = [record.source for area in (PENDING, FAILED) for record in self.clips(area)]
        sources += [drop.source for drop in self.drops() if drop.source is not None]
        sources += [entry.source for entry in self.quarantined() if entry.source is not None]
        return sources

    def _finish_moves(self, report: Recovery) -> None:
        for path in self._listing(FAILED, SIDECAR_SUFFIX):
            name = path.name.removesuffix(SIDECAR_SUFFIX)
            half_moved = self.sealed_path(name, PENDING)
            if half_moved.exists() and not self.sealed_path(name, FAILED).exists():
                half_moved.replace(self.sealed_path(name, FAILED))
                fsync_dir(self.area(FAILED))
            if self.sidecar_path(name, PENDING).exists() or half_moved.exists():
                remove_durably([half_moved, self.sidecar_path(name, PENDING)])
                report.finished_moves.append(name)

    def _finish_drops(self, report: Recovery) -> None:
        for drop in self.drops():
            if drop.reason is DropReason.REFUSED:
                continue
            for area in (PENDING, FAILED):
                if self.sealed_path(drop.name, area).exists() or self.sidecar_path(drop.name, area).exists():
                    self.remove_clip(drop.name, area)
                    report.finished_drops.append(drop.name)

    def _pair_up(self, area: str, record_suffix: str, report: Recovery) -> None:
        names = {p.name.removesuffix(SEALED_SUFFIX) for p in self._listing(area, SEALED_SUFFIX)}
        recorded = {p.name.removesuffix(record_suffix) for p in self._listing(area, record_suffix)}
        for name in sorted(names - recorded):
            remove_durably([self.sealed_path(name, area)])
            (report.orphan_quarantine if area == QUARANTINE else report.orphan_sealed).append(f"{area}/{name}")
        for name in sorted(recorded - names):
            record_path = self.root / area / f"{name}{record_suffix}"
            remove_durably([record_path])
            (report.orphan_quarantine if area == QUARANTINE else report.orphan_sidecars).append(f"{area}/{name}")

    # helpers ----------------------------------------------------------------------------------------

    def _files(self, area: str) -> list[Path]:
        directory = self.root / area
        if not directory.is_dir():
            return []
        return [path for path in directory.iterdir() if path.is_file()]

    def _listing(self, area: str, suffix: str) -> list[Path]:
        return sorted(path for path in self._files(area) if path.name.endswith(suffix) and not is_temp(path))

    def _read_record(self, path: Path, area: str) -> ClipRecord | None:
        raw = _read_json(path)
        if raw is None:
            return None
        try:
            record = ClipRecord.from_json(raw)
        except (KeyError, TypeError, ValueError) as error:
            log.error("unreadable clip sidecar", extra={"fields": {"path": str(path), "error": str(error)}})
            return None
        # The directory is the truth: a person retries a failed clip by moving its two files back
        # to pending/, and it then starts over with a fresh refusal budget.
        if area == PENDING and record.state is ClipState.FAILED:
            return replace(record, state=ClipState.SEALED, refusals=0, retry_at=None)
        return record


def format_reason(fields: dict[str, str]) -> str:
    """The quarantine's `.reason.txt`: `key: value` lines a person reads and `parse_reason` reads back."""
    lines = [f"{key}: {value}" for key, value in fields.items()]
    lines.append(
        "note: the file is sealed to the site's age key like every clip; open it where the site's"
        " identity is kept (age -d -i site-identity.txt NAME.age > NAME.mp4)"
    )
    return "\n".join(lines) + "\n"


def parse_reason(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, colon, value = line.partition(": ")
        if colon and key not in fields:
            fields[key] = value
    return fields


def _source_from_reason(fields: dict[str, str]) -> SourceFile | None:
    try:
        return SourceFile(
            path=fields["source_path"], size=int(fields["source_size"]), mtime_ns=int(fields["source_mtime_ns"])
        )
    except (KeyError, ValueError):
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    """A record's JSON, or None if it vanished meanwhile (another thread finished with it) or is damaged."""
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.error("unreadable spool file", extra={"fields": {"path": str(path), "error": str(error)}})
        return None
    return raw if isinstance(raw, dict) else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _not_after(moment: str, limit: datetime) -> bool:
    """Whether the ISO time `moment` is no later than `limit` (an unreadable one is not kept)."""
    try:
        return parse_iso(moment) <= limit
    except (TypeError, ValueError):
        return False
