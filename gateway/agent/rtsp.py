"""An RTSP camera as a clip source: `ffmpeg` records the stream into fragmented MP4 segments, the agent
takes each segment once ffmpeg has closed it, through the same probe → seal → spool path as a watched
folder's files.

How it records. One `ffmpeg` child per camera, stream copy (no re-encode: a gateway has no CPU to spare
and the camera's own H.264 is the evidence), RTSP over TCP, the segment muxer cutting at the first
keyframe after `segment_seconds`. Each segment is a fragmented MP4 (`empty_moov`, a fragment per
keyframe, each written out as soon as it is complete), so a segment cut by a power loss or a kill
still plays up to its last whole fragment.

When a segment is finished. ffmpeg appends a line to its segment list (`-segment_list`, csv) after it
has written a segment's last fragment, and opens the next segment only after closing the previous
one. So, while ffmpeg runs, a segment is taken when it is listed AND the next segment exists. Once
that ffmpeg has exited (its run is over) every file of the run is final: the listed ones, and the one
it was writing when it was killed (unlisted, still playable up to its last fragment). A fragment cut
in the middle (by a kill, or a power loss that took data ffmpeg had written) is cut off, since the
archive's probe refuses a file that ends in one; a file with no whole fragment holds no picture and
is discarded.

Its wall-clock times. The agent takes end = the file's mtime and start = end − probed duration, as for
any source. For a segment this source hands over, the mtime is set to the recording's end:
- normally the moment ffmpeg closed the file, which on a live stream is when the next segment's first
  frame arrived, i.e. the end of this segment's picture (within the network delay), to the millisecond;
- for the last segment of a run whose close came late (the camera froze with its connection open, and
  ffmpeg gave up only after its I/O timeout), the previous segment's close plus the stream time between
  the two list entries (the camera's own clock), so the timeout is not counted as recorded time;
- for a segment ffmpeg never finished, its last write (see `_whole_fragments`).
Not chosen: `-strftime` names (the muxer's wall clock at opening a segment). They have one-second
resolution, the first segment's name is the time ffmpeg finished probing, not when its picture began,
and two segments opened within one second get the same name, so the second overwrites the first (seen
with short segments at start-up, when ffmpeg flushes what it buffered while probing). Nor ffmpeg's
start time plus the list's offsets: between the start and the first frame lie the RTSP handshake,
probing and the wait for a keyframe, seconds that vary by camera.

Restarts. When ffmpeg exits (camera gone, connection refused, I/O timeout, crash) it is started again
after min(cap, base·2^n) seconds, n the failed runs in a row (a run that recorded a segment resets n);
each start after the first counts in `restarts` (the heartbeat's per-camera `restarts`). `close()`
stops ffmpeg with SIGTERM (it then finishes and lists the segment it was writing), SIGKILL after a
timeout. ffmpeg is never left behind: on Linux it gets SIGTERM as its parent-death signal, so it
finishes and exits also if the agent itself is killed (and systemd stops the whole unit's cgroup).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import logging
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from gateway.agent.clock import stamp
from gateway.agent.config import AgentConfig
from gateway.agent.logs import event
from gateway.agent.sources import Segment, Source, WatchedFolder

log = logging.getLogger(__name__)

# `r20261125T140000123Z-000042.mp4`: the run (when that ffmpeg was started) and ffmpeg's segment index.
_SEGMENT_NAME = re.compile(r"^(?P<run>r\d{8}T\d{6}\d{3}Z)-(?P<index>\d{6})\.mp4$")
_LIST_NAME = re.compile(r"^\.(?P<run>r\d{8}T\d{6}\d{3}Z)\.csv$")
# A close later than the camera's clock says by more than this is a late close (see the module doc).
LATE_CLOSE_NS = 1_000_000_000
_STDERR_TAIL = 12


@dataclass(frozen=True)
class Listed:
    """One line of ffmpeg's csv segment list: the segment's stream times, in seconds."""

    index: int
    start_s: float
    end_s: float


@dataclass
class _Run:
    """What is known of one ffmpeg run's segments (entries below its oldest file but one are dropped)."""

    list_offset: int = 0  # how far its segment list has been read
    listed: dict[int, Listed] = field(default_factory=dict)
    closes: dict[int, tuple[int, float]] = field(default_factory=dict)  # index → (close mtime, stream end)


@dataclass(frozen=True)
class _File:
    path: Path
    size: int
    mtime_ns: int


def make_sources(config: AgentConfig) -> list[Source]:
    """The configured cameras: an RTSP camera records into its `watch_dir`; any other is a watched folder."""
    sources: list[Source] = []
    for camera in config.cameras:
        if camera.rtsp_url is not None:
            sources.append(FfmpegSegmenter(camera.camera_id, camera.rtsp_url, camera.watch_dir, camera.segment_seconds))
        else:
            sources.append(WatchedFolder(camera.camera_id, camera.watch_dir, config.settle_seconds))
    return sources


def redact(url: str) -> str:
    """The URL without its password (camera credentials do not belong in logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def ffmpeg_command(
    ffmpeg: str, url: str, segment_seconds: float, list_path: Path, pattern: Path, io_timeout_s: float
) -> list[str]:
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "warning",
        # TCP: no lost or reordered packets, one connection whose loss ffmpeg sees at once.
        "-rtsp_transport",
        "tcp",
        # A camera that stops sending with its connection open: give up after this (microseconds).
        "-timeout",
        str(round(io_timeout_s * 1_000_000)),
        # No frame-rate probing: it would buffer ~20 frames, written in a burst that skews close times.
        "-fpsprobesize",
        "0",
        "-i",
        url,
        # Video only: cameras' G.711 audio does not go into MP4 without re-encoding.
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-f",
        "segment",
        "-segment_time",
        f"{segment_seconds:g}",
        # A keyframe a hair before the due time (RTP timestamps jitter) still ends the segment there,
        # rather than one keyframe interval later.
        "-segment_time_delta",
        "0.1",
        "-segment_format",
        "mp4",
        # A fragment per keyframe, each written out as soon as it is complete: without flush_packets
        # ffmpeg keeps them in its buffer until the segment ends, and a power cut would leave a header.
        "-segment_format_options",
        "movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1",
        "-reset_timestamps",
        "1",
        "-segment_list",
        str(list_path),
        "-segment_list_type",
        "csv",
        str(pattern),
    ]


def read_segment_list(path: Path) -> list[Listed]:
    """The complete lines of a csv segment list (a line cut by a crash is not one); [] if there is none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return parse_segment_list(data[: data.rfind(b"\n") + 1])


def parse_segment_list(complete_lines: bytes) -> list[Listed]:
    listed: list[Listed] = []
    for row in csv.reader(complete_lines.decode("utf-8", errors="replace").splitlines()):
        if len(row) != 3:
            continue
        match = _SEGMENT_NAME.fullmatch(Path(row[0]).name)
        try:
            start_s, end_s = float(row[1]), float(row[2])
        except ValueError:
            continue
        if match is not None:
            listed.append(Listed(int(match["index"]), start_s, end_s))
    return listed


def whole_fragments_end(path: Path) -> int:
    """Where the whole boxes of a fragmented MP4 end, a fragment (`moof`) counting once its `mdat` is
    complete too; 0 if it holds no whole fragment (no picture). Past that lies at most a fragment cut
    short by a kill or a power loss (or the zeros a power loss can leave), which no player and not the
    archive's probe accepts. A finished file ends in whole boxes (its last `mdat`, then `mfra`)."""
    with path.open("rb") as handle:
        size_on_disk = os.fstat(handle.fileno()).st_size
        position = end = fragments = 0
        in_fragment = False
        while position + 8 <= size_on_disk:
            handle.seek(position)
            header = handle.read(16)
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1 and len(header) == 16:
                size = int.from_bytes(header[8:16], "big")
            if size < 8 or position + size > size_on_disk:
                break  # 0 (to the end, as a cut mdat may say), broken, or cut short
            if kind == b"moof":
                in_fragment = True
            elif kind == b"mdat" and in_fragment:
                in_fragment, fragments = False, fragments + 1
            position += size
            if not in_fragment:
                end = position
    return end if fragments else 0


def tied_to_parent(command: list[str]) -> list[str]:
    """`command`, run so that the kernel sends it SIGTERM when the thread that started it dies.

    Linux's parent-death signal, set by util-linux's `setpriv`; then a shell checks that its parent is
    still this process (had the agent died before the signal was set, it never comes) and executes the
    command. Not with a `preexec_fn`: Python code between fork and exec in a threaded process can deadlock.
    """
    setpriv, shell = shutil.which("setpriv"), shutil.which("sh")
    if setpriv is None or shell is None:
        return command
    guard = 'test "$PPID" = "$0" || exit 70; exec "$@"'
    return [setpriv, "--pdeathsig", "TERM", "--", shell, "-c", guard, str(os.getpid()), *command]


class FfmpegSegmenter:
    """An RTSP camera recorded by an `ffmpeg` child into `directory` (private to this source).

    ffmpeg starts at the first `poll()` (or `start()`), so building an Agent starts nothing.
    """

    def __init__(
        self,
        camera_id: str,
        url: str,
        directory: Path,
        segment_seconds: float = 60.0,
        *,
        ffmpeg: str = "ffmpeg",
        io_timeout_s: float = 10.0,
        restart_base_s: float = 1.0,
        restart_cap_s: float = 30.0,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.camera_id = camera_id
        self.url = url
        self.directory = directory
        self.segment_seconds = segment_seconds
        self._ffmpeg = ffmpeg
        self._io_timeout_s = io_timeout_s
        self._restart_base_s = restart_base_s
        self._restart_cap_s = restart_cap_s
        self._stop_timeout_s = stop_timeout_s
        # Guards the process, the live run and the restart count (the supervisor thread changes them).
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._live_run: str | None = None
        self._restarts = 0
        # Only the polling thread touches these.
        self._runs: dict[str, _Run] = {}
        self._whole: set[tuple[Path, int, int]] = set()  # files of finished runs found to end in a whole fragment
        self._first_seen: dict[tuple[Path, int, int], datetime] = {}
        self._handled: set[tuple[Path, int, int]] = set()
        self._unreadable = False

    # what the agent sees ----------------------------------------------------------------------------

    @property
    def restarts(self) -> int:
        with self._lock:
            return self._restarts

    @property
    def pid(self) -> int | None:
        """The running ffmpeg's process id, if one runs."""
        with self._lock:
            return self._process.pid if self._process is not None else None

    def poll(self, now: datetime) -> list[Segment]:
        self.start()
        try:
            runs, lists = self._scan()
        except OSError as error:
            if not self._unreadable:
                event(log, logging.ERROR, "record_dir_unreadable", camera_id=self.camera_id, error=str(error))
            self._unreadable = True
            return []
        self._unreadable = False
        # Read after the listing: a run not live now was over when its files were listed (a run is
        # made live before its ffmpeg starts and made not live only once it has exited).
        with self._lock:
            live = self._live_run
        ready: list[Segment] = []
        for run, files in sorted(runs.items()):
            ready += self._finished(run, files, alive=run == live, now=now)
        self._forget(runs, lists, live)
        return sorted(ready, key=lambda segment: (segment.mtime_ns, str(segment.path)))

    def handled(self, segment: Segment) -> None:
        self._handled.add((segment.path, segment.size, segment.mtime_ns))

    # the ffmpeg child -------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                return
            try:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as error:  # the supervisor tries again before each start of ffmpeg
                event(log, logging.ERROR, "record_dir_unusable", camera_id=self.camera_id, error=str(error))
            self._thread = threading.Thread(target=self._supervise, name=f"ffmpeg-{self.camera_id}", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop ffmpeg (SIGTERM: it finishes the segment it is writing; SIGKILL after a timeout)."""
        with self._lock:
            self._stopping.set()
            process, thread = self._process, self._thread
        if process is not None:
            _terminate(process, self._stop_timeout_s, self.camera_id)
        if thread is not None:
            thread.join(timeout=self._stop_timeout_s + 5)

    def _supervise(self) -> None:
        failures = 0
        first = True
        while True:
            run = "r" + stamp(datetime.now(UTC)).replace(".", "")
            with self._lock:
                # Under the lock: close() either sees this process or stops it from being started.
                if self._stopping.is_set():
                    return
                if not first:
                    self._restarts += 1
                first = False
                process = self._spawn(run)
                self._process, self._live_run = process, (run if process is not None else None)
            recorded = 0
            code: int | None = None
            tail: Sequence[str] = ()
            if process is not None:
                tail = _drain(process, self.url, self.camera_id)
                code = process.wait()
                with self._lock:
                    self._process, self._live_run = None, None
                recorded = len(read_segment_list(self._list_path(run)))
            if self._stopping.is_set():
                event(log, logging.INFO, "ffmpeg_stopped", camera_id=self.camera_id, run=run)
                return
            if recorded:
                failures = 0  # it worked for a while: start again promptly, from the base delay
            delay = min(self._restart_cap_s, self._restart_base_s * 2 ** min(failures, 32))
            failures += 1
            if process is not None:
                event(
                    log,
                    logging.WARNING,
                    "ffmpeg_exited",
                    camera_id=self.camera_id,
                    run=run,
                    code=code,
                    segments=recorded,
                    restart_in_s=round(delay, 3),
                    stderr=list(tail),
                )
            if self._stopping.wait(delay):
                event(log, logging.INFO, "ffmpeg_stopped", camera_id=self.camera_id, run=run)
                return

    def _spawn(self, run: str) -> subprocess.Popen[bytes] | None:
        ffmpeg = shutil.which(self._ffmpeg)
        if ffmpeg is None:
            event(log, logging.ERROR, "ffmpeg_not_started", camera_id=self.camera_id, error=f"{self._ffmpeg} not found")
            return None
        command = ffmpeg_command(
            ffmpeg,
            self.url,
            self.segment_seconds,
            self._list_path(run),
            self.directory / f"{run}-%06d.mp4",
            self._io_timeout_s,
        )
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            process = subprocess.Popen(  # noqa: S603 - our own argument list, no shell
                tied_to_parent(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as error:
            event(log, logging.ERROR, "ffmpeg_not_started", camera_id=self.camera_id, error=str(error))
            return None
        event(
            log, logging.INFO, "ffmpeg_started", camera_id=self.camera_id, run=run, pid=process.pid,
            url=redact(self.url), segment_seconds=self.segment_seconds,
        )  # fmt: skip
        return process

    def _list_path(self, run: str) -> Path:
        return self.directory / f".{run}.csv"

    # which segments are finished, and their times ---------------------------------------------------

    def _scan(self) -> tuple[dict[str, dict[int, _File]], set[str]]:
        runs: dict[str, dict[int, _File]] = {}
        lists: set[str] = set()
        with os.scandir(self.directory) as entries:
            for entry in entries:
                listed = _LIST_NAME.fullmatch(entry.name)
                if listed is not None:
                    lists.add(listed["run"])
                match = _SEGMENT_NAME.fullmatch(entry.name)
                if match is None:
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # taken meanwhile
                if entry.is_file(follow_symlinks=False):
                    path = Path(entry.path)
                    runs.setdefault(match["run"], {})[int(match["index"])] = _File(path, info.st_size, info.st_mtime_ns)
        return runs, lists

    def _finished(self, run: str, files: dict[int, _File], *, alive: bool, now: datetime) -> list[Segment]:
        state = self._runs.setdefault(run, _Run())
        self._read_list(run, state)
        last_listed = max(state.listed, default=-1)
        ready: list[Segment] = []
        for index in sorted(files):
            file: _File | None = files[index]
            entry = state.listed.get(index)
            if alive and (entry is None or not any(later > index for later in files)):
                continue  # still being written, or ffmpeg is closing it this very moment
            if entry is not None:
                state.closes.setdefault(index, (files[index].mtime_ns, entry.end_s))
            if not alive:
                # ffmpeg is gone: what it (or a power loss) left unfinished is cut to its whole fragments.
                file = self._whole_fragments(files[index])
            if file is None:
                continue
            if entry is not None:
                file = self._set_end(run, file, entry, state.closes, late_possible=not alive and index == last_listed)
            key = (file.path, file.size, file.mtime_ns)
            if key in self._handled:
                continue
            since = self._first_seen.setdefault(key, now)
            ready.append(Segment(self.camera_id, file.path, file.size, file.mtime_ns, since))
        oldest = min(files) - 1  # the one before the oldest file: a late close is measured from its close
        state.listed = {index: entry for index, entry in state.listed.items() if index >= oldest}
        state.closes = {index: close for index, close in state.closes.items() if index >= oldest}
        return ready

    def _read_list(self, run: str, state: _Run) -> None:
        """Read what ffmpeg appended to the run's segment list since the last poll (whole lines only)."""
        try:
            with self._list_path(run).open("rb") as handle:
                handle.seek(state.list_offset)
                data = handle.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        state.list_offset += len(complete)
        for entry in parse_segment_list(complete):
            state.listed[entry.index] = entry

    def _set_end(
        self, run: str, file: _File, entry: Listed, closes: dict[int, tuple[int, float]], *, late_possible: bool
    ) -> _File:
        """Give a listed segment's file its recording end as mtime (see the module doc)."""
        previous = closes.get(entry.index - 1)
        if not late_possible or previous is None:
            return file
        previous_close_ns, previous_end_s = previous
        stream_ns = round((entry.end_s - previous_end_s) * 1e9)
        if stream_ns <= 0:
            return file  # the camera's clock jumped: nothing to go by
        expected_ns = previous_close_ns + stream_ns
        if file.mtime_ns - expected_ns <= LATE_CLOSE_NS:
            return file
        try:
            os.utime(file.path, ns=(expected_ns, expected_ns))
            info = file.path.lstat()
        except OSError as error:
            event(log, logging.ERROR, "segment_end_not_set", path=str(file.path), error=str(error))
            return file
        event(
            log, logging.WARNING, "segment_closed_late", camera_id=self.camera_id, run=run, path=str(file.path),
            late_s=round((file.mtime_ns - expected_ns) / 1e9, 3),
        )  # fmt: skip
        return _File(file.path, info.st_size, info.st_mtime_ns)

    def _whole_fragments(self, file: _File) -> _File | None:
        """A segment of a finished run, cut back to its last whole fragment; None if it holds none.

        Only a segment ffmpeg never finished (killed, or a power loss took the end of its data) has
        anything to cut. Its mtime (the end, for the agent) stays that of ffmpeg's last write, which may
        be that of the fragment cut off: then the end is up to one keyframe interval late.
        """
        if (file.path, file.size, file.mtime_ns) in self._whole:
            return file
        try:
            end = whole_fragments_end(file.path)
            if end == 0:
                file.path.unlink()
                event(log, logging.WARNING, "empty_segment_discarded", camera_id=self.camera_id, path=str(file.path))
                return None
            if end == file.size:
                self._whole.add((file.path, file.size, file.mtime_ns))
                return file
            os.truncate(file.path, end)
            os.utime(file.path, ns=(file.mtime_ns, file.mtime_ns))
            info = file.path.lstat()
        except FileNotFoundError:
            return None
        except OSError as error:
            event(log, logging.ERROR, "segment_unreadable", path=str(file.path), error=str(error))
            return None
        event(
            log, logging.WARNING, "segment_trimmed", camera_id=self.camera_id, path=str(file.path),
            cut_bytes=file.size - end,
        )  # fmt: skip
        self._whole.add((file.path, info.st_size, info.st_mtime_ns))
        return _File(file.path, info.st_size, info.st_mtime_ns)

    def _forget(self, runs: dict[str, dict[int, _File]], lists: set[str], live: str | None) -> None:
        """Drop what is known of runs that are over and fully taken, their segment lists included."""
        for run in lists - set(runs) - {live}:
            with contextlib.suppress(FileNotFoundError):
                self._list_path(run).unlink()
        for run in set(self._runs) - set(runs) - {live}:
            del self._runs[run]
        present = {(file.path, file.size, file.mtime_ns) for files in runs.values() for file in files.values()}
        self._handled &= present
        self._whole &= present
        self._first_seen = {key: since for key, since in self._first_seen.items() if key in present}


def _drain(process: subprocess.Popen[bytes], url: str, camera_id: str) -> Sequence[str]:
    """Read ffmpeg's stderr to its end (it would block on a full pipe); the last lines, credentials cut."""
    tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
    stream = process.stderr
    if stream is None:
        return tail
    password = urlsplit(url).password
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").rstrip().replace(url, redact(url))
        if password:
            line = line.replace(f":{password}@", ":***@")
        if line:
            tail.append(line)
            log.debug("ffmpeg_output", extra={"fields": {"camera_id": camera_id, "line": line}})
    stream.close()
    return tail


def _terminate(process: subprocess.Popen[bytes], timeout_s: float, camera_id: str) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        event(log, logging.WARNING, "ffmpeg_killed", camera_id=camera_id, pid=process.pid)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
