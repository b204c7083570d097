"""The RTSP camera source: ffmpeg records a live RTSP stream into fragmented MP4 segments, each taken once
ffmpeg has closed it; ffmpeg is restarted with backoff when the camera drops, and never outlives the agent.

The camera: tests/rtsp_camera.py (GStreamer's RTSP server fed by an ffmpeg test source, on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.media.video import MediaLimits, VideoInfo, probe
from gateway.agent.clock import iso, to_ms
from gateway.agent.config import ConfigError, parse_config
from gateway.agent.rtsp import FfmpegSegmenter, ffmpeg_command, make_sources, read_segment_list, redact
from gateway.agent.sources import Segment, WatchedFolder
from tests.rtsp_camera import Camera, needs_camera, needs_ffmpeg, stop_process
from tests.unit.test_agent_support import make_site

SEGMENT_S = 2.0


def wait_for(condition: Callable[[], Any], what: str, timeout_s: float = 15.0) -> Any:
    """Poll `condition` until it returns something true; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def segmenters() -> Iterator[list[FfmpegSegmenter]]:
    """Every segmenter a test makes is closed, whatever the test's outcome."""
    made: list[FfmpegSegmenter] = []
    yield made
    for segmenter in made:
        segmenter.close()


def segmenter_for(made: list[FfmpegSegmenter], url: str, directory: Path, **options: Any) -> FfmpegSegmenter:
    options = {"io_timeout_s": 2.0, "restart_base_s": 0.25, "restart_cap_s": 1.0, "stop_timeout_s": 5.0} | options
    segmenter = FfmpegSegmenter("cam-a", url, directory, SEGMENT_S, **options)
    made.append(segmenter)
    return segmenter


def top_level_boxes(path: Path) -> dict[bytes, list[bytes]]:
    """ISO-BMFF boxes at the top level: type → the payload of each."""
    data = path.read_bytes()
    boxes: dict[bytes, list[bytes]] = {}
    position = 0
    while position + 8 <= len(data):
        size, kind = int.from_bytes(data[position : position + 4], "big"), data[position + 4 : position + 8]
        assert size >= 8, f"bad box at {position} in {path.name}"
        boxes.setdefault(kind, []).append(data[position + 8 : position + size])
        position += size
    return boxes


def open_by(pid: int) -> set[Path]:
    """The files process `pid` has open."""
    opened: set[Path] = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            opened.add(descriptor.readlink())
    return opened


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie, dead but not yet reaped by its new parent, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def ffmpeg_children(camera: Camera) -> list[int]:
    """This test process's ffmpeg children, but for the camera's publisher."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            name, _, rest = stat_file.read_text().partition(") ")
            if name.endswith("(ffmpeg") and int(rest.split()[1]) == os.getpid():
                found.append(int(stat_file.parent.name))
    return [pid for pid in found if running(pid) and pid != camera.publisher.pid]


def exits(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [getattr(r, "fields", {}) for r in caplog.records if r.getMessage() == "ffmpeg_exited"]


def run_of(path: Path) -> str:
    return path.name.partition("-")[0]


def listed(path: Path) -> bool:
    """Whether ffmpeg's segment list for the run of `path` lists it (it does once it closed it)."""
    index = int(path.stem.rpartition("-")[2])
    return index in {entry.index for entry in read_segment_list(path.parent / f".{run_of(path)}.csv")}


def span(segment: Segment, info: VideoInfo) -> tuple[datetime, datetime]:
    return segment.ended_at - timedelta(seconds=info.duration_s), segment.ended_at


# without a camera ---------------------------------------------------------------------------------------


def test_ffmpeg_copies_the_stream_into_fragmented_mp4_segments_listed_when_closed(tmp_path: Path) -> None:
    command = ffmpeg_command("ffmpeg", "rtsp://cam/1", 60, tmp_path / ".r.csv", tmp_path / "r-%06d.mp4", 10)
    text = " ".join(command)
    assert "-c copy" in text and "-map 0:v:0" in text and "-rtsp_transport tcp" in text
    assert "-f segment -segment_time 60 -segment_time_delta 0.1 -segment_format mp4" in text
    assert "movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1" in text
    assert "-reset_timestamps 1" in text
    assert f"-segment_list {tmp_path / '.r.csv'} -segment_list_type csv" in text
    assert "-timeout 10000000" in text and command[-1] == str(tmp_path / "r-%06d.mp4")


def test_a_segment_list_line_cut_short_is_not_read(tmp_path: Path) -> None:
    listing = tmp_path / ".r.csv"
    listing.write_text(
        "r20261125T140000000Z-000000.mp4,0.000000,2.000000\n"
        "other.mp4,2.0,4.0\n"
        "r20261125T140000000Z-000001.mp4,2.000000,4.0\n"
        "r20261125T140000000Z-000002.mp4,4.0000"
    )
    assert [(e.index, e.start_s, e.end_s) for e in read_segment_list(listing)] == [(0, 0.0, 2.0), (1, 2.0, 4.0)]
    assert read_segment_list(tmp_path / "none.csv") == []


def test_camera_credentials_stay_out_of_logs() -> None:
    assert redact("rtsp://admin:s3cret@10.1.2.3:554/Streaming/101") == "rtsp://admin:***@10.1.2.3:554/Streaming/101"
    assert redact("rtsp://10.1.2.3/live") == "rtsp://10.1.2.3/live"


def test_an_rtsp_camera_in_the_config_records_into_its_watch_dir(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    site.archive.stop()
    base: dict[str, Any] = {
        "api_url": site.config.api_url,
        "token": site.config.token,
        "site_recipient": site.config.site_recipient,
        "spool_dir": str(tmp_path / "spool"),
        "quota_bytes": 1_000_000,
        "max_clip_age_days": 7,
    }
    url = "rtsp://viewer:hunter2@192.0.2.13:554/Streaming/Channels/101"
    cameras = [
        {"camera_id": "cam-a", "watch_dir": "/srv/nvr/cam-a"},
        {"camera_id": "cam-b", "watch_dir": "/var/lib/gw/rtsp/cam-b", "rtsp_url": url, "segment_seconds": 2},
        {"camera_id": "cam-c", "watch_dir": "/var/lib/gw/rtsp/cam-c", "rtsp_url": "rtsps://cam-c.local/live"},
    ]
    config = parse_config(base | {"cameras": cameras})
    folder, recorded, default = config.cameras
    assert folder.rtsp_url is None and recorded.rtsp_url == url and recorded.segment_seconds == 2.0
    assert default.segment_seconds == 60.0
    assert "hunter2" not in repr(config)
    sources = make_sources(config)
    assert isinstance(sources[0], WatchedFolder)
    assert isinstance(sources[1], FfmpegSegmenter) and sources[1].directory == Path("/var/lib/gw/rtsp/cam-b")
    assert sources[1].segment_seconds == 2.0 and sources[1].restarts == 0
    mistakes: list[tuple[dict[str, Any], str]] = [
        ({"rtsp_url": "http://cam/live"}, "rtsp://host"),
        ({"rtsp_url": "rtsp:///live"}, "rtsp://host"),
        ({"rtsp_url": "rtsp://cam:port/live"}, "not a URL"),
        ({"rtsp_url": url, "segment_seconds": 0.5}, "1 to 1800"),
        ({"rtsp_url": url, "segment_seconds": 3600}, "1 to 1800"),
        ({"segment_seconds": 60}, "needs an rtsp_url"),
        ({"rtsp_url": url, "transport": "udp"}, "nothing else"),
    ]
    for wrong, message in mistakes:
        with pytest.raises(ConfigError, match=message) as raised:
            parse_config(base | {"cameras": [{"camera_id": "cam-b", "watch_dir": "/srv/b"} | wrong]})
        assert "hunter2" not in str(raised.value)


def test_after_ffmpeg_is_gone_every_file_of_its_run_is_final_and_a_late_close_is_not_counted(tmp_path: Path) -> None:
    run = "r20261125T140000000Z"

    def box(kind: bytes, payload_size: int = 8) -> bytes:
        return (payload_size + 8).to_bytes(4, "big") + kind + bytes(payload_size)

    header = box(b"ftyp") + box(b"moov")
    fragment = box(b"moof") + box(b"mdat", 100)
    t0 = 1_795_000_000 * 10**9
    (tmp_path / f".{run}.csv").write_text(
        f"{run}-000000.mp4,0.000000,2.000000\n{run}-000001.mp4,2.000000,4.000000\n{run}-000002.mp4,4.000000,5.500000\n"
    )
    # Closed live at t0+2 and t0+4; the last closed 10 s late (the camera froze, ffmpeg timed out).
    closes = {0: t0 + 2 * 10**9, 1: t0 + 4 * 10**9, 2: t0 + (5_500 + 10_000) * 10**6}
    for index, close_ns in closes.items():
        path = tmp_path / f"{run}-{index:06d}.mp4"
        path.write_bytes(header + fragment + fragment + box(b"mfra"))  # as ffmpeg finishes a segment
        os.utime(path, ns=(close_ns, close_ns))
    killed_run = "r20261125T140100000Z"
    cut = tmp_path / f"{killed_run}-000000.mp4"  # cut by a kill in its third fragment: never listed
    cut.write_bytes(header + fragment + fragment + box(b"moof") + box(b"mdat", 100)[:50])
    os.utime(cut, ns=(t0 + 9 * 10**9, t0 + 9 * 10**9))
    (tmp_path / f"{killed_run}-000001.mp4").write_bytes(header + box(b"moof"))  # opened, no whole fragment yet
    (tmp_path / ".r20261125T135900000Z.csv").write_text("")  # a run that never recorded
    segmenter = FfmpegSegmenter("cam-a", "rtsp://127.0.0.1:9/none", tmp_path, SEGMENT_S)
    segmenter.close()  # nothing runs: all runs are over
    now = datetime.now(UTC)

    offered = segmenter.poll(now)
    by_name = {segment.path.name: segment for segment in offered}
    assert set(by_name) == {f"{run}-000000.mp4", f"{run}-000001.mp4", f"{run}-000002.mp4", f"{killed_run}-000000.mp4"}
    assert by_name[f"{run}-000000.mp4"].mtime_ns == closes[0]
    assert all(by_name[f"{run}-{index:06d}.mp4"].size == len(header) + 2 * len(fragment) + 16 for index in closes)
    assert by_name[f"{run}-000002.mp4"].mtime_ns == closes[1] + 1_500 * 10**6  # previous close + stream time
    assert (tmp_path / f"{run}-000002.mp4").stat().st_mtime_ns == closes[1] + 1_500 * 10**6
    assert cut.read_bytes() == header + fragment + fragment  # what a player and the archive's probe accept
    assert by_name[cut.name].size == cut.stat().st_size and by_name[cut.name].mtime_ns == t0 + 9 * 10**9
    assert not (tmp_path / f"{killed_run}-000001.mp4").exists()
    assert not (tmp_path / ".r20261125T135900000Z.csv").exists()
    assert all(segment.stable_since == now for segment in offered)

    for segment in offered[:2]:
        segmenter.handled(segment)
    assert {s.path for s in segmenter.poll(now + timedelta(seconds=2))} == {s.path for s in offered[2:]}
    for segment in offered:
        segment.path.unlink()
    assert segmenter.poll(now + timedelta(seconds=4)) == []
    assert not (tmp_path / f".{run}.csv").exists()  # the run is fully taken: its list goes too


def test_ffmpeg_missing_is_retried_with_backoff_and_counted(
    tmp_path: Path, segmenters: list[FfmpegSegmenter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.agent.rtsp")
    segmenter = segmenter_for(
        segmenters, "rtsp://127.0.0.1:9/none", tmp_path / "rec", ffmpeg=str(tmp_path / "no-ffmpeg"),
        restart_base_s=0.05, restart_cap_s=0.2,
    )  # fmt: skip
    assert segmenter.poll(datetime.now(UTC)) == []
    wait_for(lambda: segmenter.restarts >= 3, "three restarts")
    segmenter.close()
    assert sum(r.getMessage() == "ffmpeg_not_started" for r in caplog.records) >= 4
    assert segmenter.pid is None


def test_ffmpeg_that_ignores_sigterm_is_killed_at_close(tmp_path: Path, segmenters: list[FfmpegSegmenter]) -> None:
    stubborn = tmp_path / "stubborn-ffmpeg"
    stubborn.write_text("#!/bin/sh\ntrap '' TERM\nexec sleep 60\n")
    stubborn.chmod(0o755)
    segmenter = segmenter_for(
        segmenters, "rtsp://127.0.0.1:9/none", tmp_path / "rec", ffmpeg=str(stubborn), stop_timeout_s=0.5
    )
    segmenter.start()
    pid = wait_for(lambda: segmenter.pid, "the stand-in ffmpeg to start")
    started = time.monotonic()
    segmenter.close()
    assert not running(pid) and time.monotonic() - started < 5


@needs_ffmpeg
def test_ffmpeg_does_not_outlive_a_killed_agent(tmp_path: Path) -> None:
    # A peer that accepts the connection and never answers: ffmpeg waits (its I/O timeout is 30 s).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"rtsp://127.0.0.1:{silent.getsockname()[1]}/cam"
        code = (
            "import sys, time\nfrom pathlib import Path\nfrom gateway.agent.rtsp import FfmpegSegmenter\n"
            f"s = FfmpegSegmenter('cam-a', {url!r}, Path({str(tmp_path / 'rec')!r}), 2, io_timeout_s=30)\n"
            "s.start()\nwhile s.pid is None: time.sleep(0.02)\nprint(s.pid, flush=True)\ntime.sleep(60)\n"
        )
        agent = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2]
        )
        try:
            assert agent.stdout is not None
            readable, _, _ = select.select([agent.stdout], [], [], 20)
            assert readable, "the agent stand-in did not start ffmpeg"
            pid = int(agent.stdout.readline())
            wait_for(lambda: Path(f"/proc/{pid}/comm").read_text().strip() == "ffmpeg", "ffmpeg to be running")
            agent.kill()
            agent.wait()
            wait_for(lambda: not running(pid), "ffmpeg to exit after its parent was killed", timeout_s=10)
        finally:
            stop_process(agent)


# with a camera ----------------------------------------------------------------------------------------


@needs_camera
def test_segments_are_taken_once_closed_as_fragmented_h264_and_go_through_the_agent(
    tmp_path: Path, camera: Camera, segmenters: list[FfmpegSegmenter]
) -> None:
    site = make_site(tmp_path)
    try:
        segmenter = segmenter_for(segmenters, camera.url, tmp_path / "rtsp" / "cam-a")
        checked: list[tuple[Segment, VideoInfo]] = []

        class Inspected:
            """The segmenter, with each segment checked as the agent gets it."""

            camera_id = segmenter.camera_id

            def poll(self, now: datetime) -> list[Segment]:
                offered = segmenter.poll(now)
                pid = segmenter.pid
                for segment in offered:
                    # Closed: ffmpeg listed it and no longer has it open.
                    assert pid is not None and segment.path not in open_by(pid)
                    assert listed(segment.path)
                    boxes = top_level_boxes(segment.path)
                    assert b"moof" in boxes and b"mvex" in boxes[b"moov"][0], "not a fragmented MP4"
                    info = probe(segment.path, MediaLimits())
                    assert (info.codec, info.width, info.height) == ("h264", 320, 240)
                    assert SEGMENT_S - 0.15 <= info.duration_s <= SEGMENT_S + 0.15
                    # Its end is when it was closed, which was a moment ago.
                    assert timedelta(0) <= now - segment.ended_at < timedelta(seconds=3)
                    checked.append((segment, info))
                return offered

            def handled(self, segment: Segment) -> None:
                segmenter.handled(segment)

            @property
            def restarts(self) -> int:
                return segmenter.restarts

            def close(self) -> None:
                segmenter.close()

        agent = site.agent(sources=[Inspected()])

        def three_uploaded() -> bool:
            agent.run_once(datetime.now(UTC))
            return len(site.archive.received()) >= 3

        wait_for(three_uploaded, "3 clips uploaded")
        assert len(checked) >= 3 and segmenter.restarts == 0
        spans = [span(segment, info) for segment, info in checked]
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert abs((start - end).total_seconds()) < 0.25, "consecutive segments neither overlap nor leave gaps"
        # The agent took them as it takes a watched folder's files: registered with these times, uploaded,
        # the plaintext deleted.
        uploaded = {(clip.registration["start"], clip.registration["end"]) for clip in site.archive.received()}
        ends = [to_ms(segment.ended_at) for segment, _ in checked[:3]]
        starts = [end - timedelta(seconds=info.duration_s) for end, (_, info) in zip(ends, checked, strict=False)]
        assert {(iso(start), iso(end)) for start, end in zip(starts, ends, strict=True)} <= uploaded
        assert all(clip.registration["camera_id"] == "cam-a" for clip in site.archive.received())
        assert not any(segment.path.exists() for segment, _ in checked[:3])
        assert [p for p in segmenter.directory.iterdir() if p.suffix == ".mp4" and p.exists()]  # being recorded

        pid = segmenter.pid
        assert pid is not None and ffmpeg_children(camera) == [pid]
        agent.stop()
        segmenter.close()
        assert not running(pid) and segmenter.pid is None and ffmpeg_children(camera) == []
        # SIGTERM let ffmpeg finish the segment it was writing: listed, whole, taken at the next poll.
        last = segmenter.poll(datetime.now(UTC))
        assert len(last) == 1 and probe(last[0].path, MediaLimits()).duration_s > 0
        assert listed(last[0].path)
    finally:
        site.archive.stop()


@needs_camera
def test_a_dropped_camera_is_retried_with_backoff_and_recording_resumes(
    tmp_path: Path, camera: Camera, segmenters: list[FfmpegSegmenter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.agent.rtsp")
    segmenter = segmenter_for(segmenters, camera.url, tmp_path / "rec")
    taken: list[Segment] = []

    def take() -> list[Segment]:
        offered = segmenter.poll(datetime.now(UTC))
        for segment in offered:
            segmenter.handled(segment)
        taken.extend(offered)
        return offered

    wait_for(take, "a first segment")
    first_run = run_of(taken[0].path)

    # ffmpeg dies mid-segment (as at a power cut): what it wrote still plays, and it is started again.
    current = wait_for(
        lambda: [p for p in segmenter.directory.glob(f"{first_run}-*.mp4") if p not in {s.path for s in taken}],
        "the segment being written",
    )[0]
    wait_for(lambda: b"moof" in top_level_boxes(current), "a fragment in the segment being written")
    pid = segmenter.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    cut = wait_for(lambda: [s for s in take() if s.path == current], "the cut segment")[0]
    assert probe(cut.path, MediaLimits()).duration_s > 0
    assert not listed(current)
    wait_for(lambda: segmenter.restarts == 1 and segmenter.pid not in (None, pid), "ffmpeg started again")

    # The camera goes away: ffmpeg exits at once and is started again after 0.25, 0.5, 1, 1 … s.
    wait_for(lambda: [s for s in take() if run_of(s.path) != first_run], "a segment of the new run")
    camera.kill_server()
    wait_for(lambda: segmenter.restarts >= 5, "four restarts while the camera is away")
    delays = [fields["restart_in_s"] for fields in exits(caplog)]
    # After a run that recorded something the delay starts from the base again; then it doubles to the cap.
    assert delays[:5] == [0.25, 0.25, 0.5, 1.0, 1.0], delays
    assert [fields["segments"] > 0 for fields in exits(caplog)][:3] == [True, True, False]

    take()  # what the run that lost the camera recorded up to then: its last segment, closed at once
    runs_before = {run_of(s.path) for s in taken}
    assert len(runs_before) == 2

    camera.start_server()
    resumed = wait_for(
        lambda: [s for s in take() if run_of(s.path) not in runs_before], "recording to resume", timeout_s=20
    )
    assert probe(resumed[0].path, MediaLimits()).codec == "h264"
    pid = segmenter.pid
    segmenter.close()
    assert pid is not None and not running(pid) and ffmpeg_children(camera) == []


@needs_camera
def test_a_frozen_camera_times_out_and_the_wait_is_not_counted_as_recording(
    tmp_path: Path, camera: Camera, segmenters: list[FfmpegSegmenter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.agent.rtsp")
    segmenter = segmenter_for(segmenters, camera.url, tmp_path / "rec", restart_base_s=30.0, restart_cap_s=30.0)
    taken: list[Segment] = []

    def take() -> list[Segment]:
        offered = segmenter.poll(datetime.now(UTC))
        for segment in offered:
            segmenter.handled(segment)
        taken.extend(offered)
        return offered

    wait_for(lambda: take() and len(taken) >= 2, "two segments")
    camera.freeze_server()  # the connection stays open, nothing comes
    frozen_at = datetime.now(UTC)
    wait_for(lambda: exits(caplog), "ffmpeg to give up on the frozen camera")
    last = wait_for(take, "the segment it was writing")
    assert len(last) == 1
    assert any(r.getMessage() == "segment_closed_late" for r in caplog.records)
    infos = [probe(segment.path, MediaLimits()) for segment in taken[-2:]]
    (_, previous_end), (start, end) = (span(segment, info) for segment, info in zip(taken[-2:], infos, strict=True))
    assert abs((start - previous_end).total_seconds()) < 0.25
    # It ends about when the camera froze (give or take what was on the way), not at ffmpeg's timeout.
    assert abs((end - frozen_at).total_seconds()) < 1.0
    assert datetime.now(UTC) - end > timedelta(seconds=1.5)
