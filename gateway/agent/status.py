"""`python -m gateway status`: what the spool holds, read from disk alone (works while the agent runs or not).

With `--follow` it reads the spool again every few seconds and draws a progress bar while a backlog drains:
what the archive has confirmed since the command started against what is still waiting, with the rate over
the last RATE_WINDOW_S seconds and the time left at that rate (not since the start: an outage before the
drain would make the rate tiny and the time left huge); it ends when nothing waits any more.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from gateway.agent.clock import iso, parse_iso
from gateway.agent.spool import FAILED, PENDING, ClipState, MultipartProgress, Spool

_STATES = (ClipState.SEALED, ClipState.REGISTERED, ClipState.UPLOADED, ClipState.FAILED)
_WAITING = (ClipState.SEALED, ClipState.REGISTERED, ClipState.UPLOADED)  # what the agent has still to send
BAR_WIDTH = 30
RATE_WINDOW_S = 20.0


def status_report(spool: Spool, quota_bytes: int, now: datetime) -> dict[str, Any]:
    states: dict[str, dict[str, int]] = {state.value: {"clips": 0, "bytes": 0} for state in _STATES}
    pending = spool.clips(PENDING)
    for area, records in ((PENDING, pending), (FAILED, spool.clips(FAILED))):
        for record in records:
            entry = states[ClipState.FAILED.value if area == FAILED else record.state.value]
            entry["clips"] += 1
            entry["bytes"] += spool.clip_bytes(record.name, area)
    quarantined = spool.quarantined()
    states["quarantine"] = {"clips": len(quarantined), "bytes": sum(entry.size for entry in quarantined)}
    oldest = pending[0] if pending else None
    state = spool.load_state()
    drops = spool.drops()
    usage = spool.usage()
    return {
        "spool_dir": str(spool.root),
        "now": iso(now),
        "states": states,
        "total_bytes": usage.total_bytes,
        "quota_bytes": quota_bytes,
        "oldest_pending": oldest.name if oldest else None,
        "oldest_pending_age_s": _age(now, oldest.registration.end) if oldest else None,
        "last_upload_at": state.last_upload_at,
        "last_upload_age_s": _age(now, state.last_upload_at) if state.last_upload_at else None,
        "uploaded": {"clips": state.uploaded_clips, "bytes": state.uploaded_bytes},
        "waiting": {
            "clips": sum(states[s.value]["clips"] for s in _WAITING),
            "bytes": sum(states[s.value]["bytes"] for s in _WAITING),
        },
        "drops": {
            "total": state.dropped_total,
            "by_reason": dict(sorted(state.dropped_by_reason.items())),
            "unreported": len(drops),
        },
        "multipart": {
            record.name: _multipart(progress, record.sealed.size)
            for record in pending
            if (progress := record.multipart) is not None and record.state is not ClipState.UPLOADED
        },
        "last_errors": {
            record.name: record.last_error
            for area in (PENDING, FAILED)
            for record in spool.clips(area)
            if record.last_error
        },
    }


def render_status(report: dict[str, Any]) -> str:
    share = 100 * report["total_bytes"] / report["quota_bytes"]
    lines = [
        f"spool {report['spool_dir']}: {report['total_bytes']} bytes of {report['quota_bytes']} quota ({share:.1f}%)",
        f"{'state':<12}{'clips':>8}{'bytes':>16}",
    ]
    lines += [f"{state:<12}{counts['clips']:>8}{counts['bytes']:>16}" for state, counts in report["states"].items()]
    if report["oldest_pending"]:
        lines.append(f"oldest pending: {_duration(report['oldest_pending_age_s'])} old ({report['oldest_pending']})")
    else:
        lines.append("oldest pending: none")
    if report["last_upload_at"]:
        lines.append(f"last upload: {report['last_upload_at']} ({_duration(report['last_upload_age_s'])} ago)")
    else:
        lines.append("last upload: never")
    uploaded = report["uploaded"]
    lines.append(f"received by the archive, ever: {uploaded['clips']} clips, {uploaded['bytes']} bytes")
    drops = report["drops"]
    reasons = ", ".join(f"{reason} {count}" for reason, count in drops["by_reason"].items()) or "none"
    lines.append(f"drops: {drops['total']} ({reasons}); {drops['unreported']} not yet reported")
    lines += [
        f"multipart {name}: {part['parts_done']}/{part['parts_total']} parts"
        f" ({part['bytes_done']} of {part['bytes_total']} bytes)"
        for name, part in report["multipart"].items()
    ]
    lines += [f"last error {name}: {error}" for name, error in report["last_errors"].items()]
    return "\n".join(lines) + "\n"


def render_progress(first: dict[str, Any], latest: dict[str, Any], rate: float) -> str:
    """One line: a bar of what was confirmed since `first` against what `latest` still has waiting, by
    bytes, with `rate` (bytes/s) and the time left at it."""
    done_clips = latest["uploaded"]["clips"] - first["uploaded"]["clips"]
    done_bytes = latest["uploaded"]["bytes"] - first["uploaded"]["bytes"]
    left_clips, left_bytes = latest["waiting"]["clips"], latest["waiting"]["bytes"]
    share = done_bytes / (done_bytes + left_bytes) if done_bytes + left_bytes else 1.0
    filled = round(share * BAR_WIDTH)
    if not left_clips:
        eta = "done"
    elif rate > 0:
        eta = f"{_duration(left_bytes / rate)} left"
    else:
        eta = "no progress yet"
    return (
        f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {100 * share:5.1f}%  "
        f"{done_clips} sent, {left_clips} waiting ({_size(left_bytes)})  {_size(rate)}/s  {eta}"
    )


class RecentRate:
    """Bytes confirmed per second over about the last `window_s`: readings (time, bytes uploaded ever) are
    kept back to the newest one at least `window_s` old, so the rate spans the window once it has filled."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self._window_s = window_s
        self._readings: deque[tuple[float, int]] = deque()

    def add(self, at: float, uploaded_bytes: int) -> float:
        """Note a reading; the rate up to it (0 until there are two)."""
        self._readings.append((at, uploaded_bytes))
        while len(self._readings) > 2 and at - self._readings[1][0] >= self._window_s:
            self._readings.popleft()
        (since, before), (_, now) = self._readings[0], self._readings[-1]
        return (now - before) / (at - since) if at > since else 0.0


def follow(
    read: Callable[[], dict[str, Any]],
    out: TextIO,
    wait: Callable[[float], object],
    clock: Callable[[], float],
    every_s: float = 2.0,
    window_s: float = RATE_WINDOW_S,
) -> None:
    """Draw the progress bar every `every_s` until nothing waits (on a terminal, over the same line)."""
    first = read()
    recent = RecentRate(window_s)
    recent.add(clock(), first["uploaded"]["bytes"])
    end = "\r" if out.isatty() else "\n"
    while True:
        latest = read()
        rate = recent.add(clock(), latest["uploaded"]["bytes"])
        out.write(render_progress(first, latest, rate) + end)
        out.flush()
        if not latest["waiting"]["clips"]:
            out.write("\n" if end == "\r" else "")
            return
        wait(every_s)


def _multipart(progress: MultipartProgress, total: int) -> dict[str, Any]:
    """A large clip's upload so far, as its sidecar last recorded it (the archive's list is the truth)."""
    done = sum(max(0, min(progress.part_size, total - (n - 1) * progress.part_size)) for n in progress.parts_done)
    return {
        "upload_id": progress.upload_id,
        "parts_done": len(progress.parts_done),
        "parts_total": progress.parts_total,
        "bytes_done": done,
        "bytes_total": total,
    }


def _age(now: datetime, then: str) -> float:
    return round((now - parse_iso(then)).total_seconds(), 3)


def _size(count: float) -> str:
    """Bytes in kB below a megabyte (a slow uplink's rate would read 0.00 MB/s), else in MB."""
    return f"{count / 1e3:.0f} kB" if count < 1e6 else f"{count / 1e6:.1f} MB"


def _duration(seconds: float) -> str:
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
