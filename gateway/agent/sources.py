"""Where clips come from. A source hands over finished segment files; the agent probes, seals and spools them.

Today: `WatchedFolder`, a folder the NVR (or its FTP upload) writes MP4 files into. An RTSP camera
would get an `FfmpegSegmenter` source later: it would run `ffmpeg -f segment` into a private folder,
offer each segment once ffmpeg has moved on to the next, and count its ffmpeg restarts. The agent
needs nothing else from a source than the `Source` protocol below.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from gateway.agent.clock import from_ns
from gateway.agent.logs import event

log = logging.getLogger(__name__)

# What probe accepts (chalicelib.media.video: the ISO-BMFF family); anything else an NVR writes beside
# its clips (indexes, snapshots) is not footage to take and not corrupt footage to quarantine either.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v"})


@dataclass(frozen=True)
class Segment:
    """A finished recording file, ready to be taken."""

    camera_id: str
    path: Path
    size: int
    mtime_ns: int
    # When the agent first saw the file as it is now (its own clock, not the file's mtime).
    stable_since: datetime

    @property
    def ended_at(self) -> datetime:
        # The recorder's last write is the end of the recording; start = end − probed duration.
        return from_ns(self.mtime_ns)


class Source(Protocol):
    camera_id: str

    def poll(self, now: datetime) -> list[Segment]:
        """The finished segments not yet handled, oldest first."""
        ...

    def handled(self, segment: Segment) -> None:
        """The agent is done with `segment` (its file is normally gone): never offer it again."""
        ...

    @property
    def restarts(self) -> int:
        """How often the source had to start over (the heartbeat's per-camera `restarts`)."""
        ...

    def close(self) -> None: ...


class WatchedFolder:
    """Files in a folder (recursively). A file is finished when its size and mtime are unchanged over
    two polls and for at least `settle_seconds` by the agent's clock (the file's mtime may come from
    the NVR's clock, so it is not trusted for this)."""

    def __init__(self, camera_id: str, directory: Path, settle_seconds: float = 0.0) -> None:
        self.camera_id = camera_id
        self.directory = directory
        self._settle = timedelta(seconds=settle_seconds)
        # path → (size, mtime_ns, first seen so)
        self._seen: dict[Path, tuple[int, int, datetime]] = {}
        self._handled: set[tuple[Path, int, int]] = set()
        self._unreadable = False
        self._restarts = 0

    @property
    def restarts(self) -> int:
        # For a folder: how often it came back after being unreadable (unmounted share, NVR reboot).
        return self._restarts

    def poll(self, now: datetime) -> list[Segment]:
        try:
            current = dict(self._scan())
        except OSError as error:
            if not self._unreadable:
                event(log, logging.ERROR, "watch_dir_unreadable", camera_id=self.camera_id, error=str(error))
            self._unreadable = True
            return []
        if self._unreadable:
            self._unreadable = False
            self._restarts += 1
            event(log, logging.WARNING, "watch_dir_back", camera_id=self.camera_id)
        seen: dict[Path, tuple[int, int, datetime]] = {}
        ready: list[Segment] = []
        for path, (size, mtime_ns) in current.items():
            previous = self._seen.get(path)
            unchanged = previous is not None and previous[:2] == (size, mtime_ns)
            since = previous[2] if previous is not None and unchanged else now
            seen[path] = (size, mtime_ns, since)
            if unchanged and now - since >= self._settle and (path, size, mtime_ns) not in self._handled:
                ready.append(Segment(self.camera_id, path, size, mtime_ns, since))
        self._seen = seen
        # Forget handled files that are gone, so the set does not grow for ever.
        self._handled = {key for key in self._handled if current.get(key[0]) == key[1:]}
        return sorted(ready, key=lambda segment: (segment.mtime_ns, str(segment.path)))

    def handled(self, segment: Segment) -> None:
        self._handled.add((segment.path, segment.size, segment.mtime_ns))

    def close(self) -> None:
        """Nothing to stop: a folder has no process behind it."""

    def _scan(self) -> Iterator[tuple[Path, tuple[int, int]]]:
        if not self.directory.is_dir():
            raise FileNotFoundError(f"{self.directory} is not a directory")
        for path in self.directory.rglob("*"):
            relative = path.relative_to(self.directory)
            # Hidden files are what uploaders write before renaming into place (.name.mp4.part etc.).
            if any(part.startswith(".") for part in relative.parts) or path.suffix.lower() not in VIDEO_SUFFIXES:
                continue
            try:
                # lstat: a symlink is not taken (deleting "its plaintext" would leave the real file).
                info = path.lstat()
            except FileNotFoundError:
                continue  # taken or renamed between the listing and the stat
            if stat.S_ISREG(info.st_mode):
                yield path, (info.st_size, info.st_mtime_ns)
