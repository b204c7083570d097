"""The edge agent against the real local archive: watched folders in, sealed uploads out, exactly once,
through uplink outages and SIGKILLs at chosen moments.

The agent reaches the archive through `UplinkProxy` (its `proxy_url`, as behind a site network's proxy),
so both the API calls and the presigned S3 PUTs cross the uplink the tests cut, watch and stall.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import pytest

from chalicelib.media.video import InvalidVideo, MediaLimits, probe
from gateway.agent.clock import iso
from gateway.agent.spool import AgentState, Spool
from gateway.clipmaker import make_clip
from gateway.uplink import sha256_of
from local.stack import ROOT
from tests.rtsp_camera import needs_camera
from tests.uplink_proxy import UplinkProxy

pytestmark = pytest.mark.e2e
CAMERAS = ("aizkraukle-square", "aizkraukle-park")
PART_PUT = re.compile(r"^PUT \S*[?&]partNumber=(\d+)\b")


@dataclass
class RunningAgent:
    config: Path
    spool: Path
    folders: dict[str, Path]
    process: subprocess.Popen[bytes] | None = None
    command: tuple[str, ...] = (sys.executable, "-m", "gateway")
    cwd: Path = ROOT
    environment: dict[str, str] = field(default_factory=dict)  # added to the test's own

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self.command, "run", "--config", str(self.config)],
            cwd=self.cwd,
            env=os.environ | self.environment,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
        )

    @property
    def log(self) -> Path:
        return self.spool.parent / "agent.log"

    def events(self) -> list[str]:
        """The events the agent has logged (JSON lines on its stderr), in order."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line)["event"] for line in lines if line.startswith("{")]

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)


@pytest.fixture
def uplink() -> Iterator[UplinkProxy]:
    proxy = UplinkProxy()
    yield proxy
    proxy.close()


@pytest.fixture
def agent(archive, uplink, tmp_path) -> Iterator[Callable[..., RunningAgent]]:
    """A configured agent for the Aizkraukle gateway, its uplink through `uplink`; killed after the test."""
    started: list[RunningAgent] = []

    def configure(
        quota_bytes: int = 1_000_000_000,
        rtsp: dict[str, str] | None = None,
        max_clip_age_days: int = 7,
        box: dict[str, str] | None = None,
        watched: tuple[str, ...] = CAMERAS,
    ) -> RunningAgent:
        """`rtsp`: camera id → RTSP URL of cameras the agent records itself, in 2 s segments; `box`: another
        gateway's token and site key (POST /gateways' answer), for the `watched` cameras it is bound to."""
        box = box or archive.gateways["aizkraukle"]
        folders = {camera: tmp_path / "nvr" / camera for camera in watched}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        spool = tmp_path / "spool"
        cameras = "\n".join(f'[[cameras]]\ncamera_id = "{c}"\nwatch_dir = "{f}"\n' for c, f in folders.items())
        for camera_id, url in (rtsp or {}).items():
            folders[camera_id] = tmp_path / "rtsp" / camera_id
            cameras += (
                f'[[cameras]]\ncamera_id = "{camera_id}"\nwatch_dir = "{folders[camera_id]}"\n'
                f'rtsp_url = "{url}"\nsegment_seconds = 2\n'
            )
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'api_url = "{archive.api_url}"\nproxy_url = "{uplink.url}"\n'
            f'token = "{box["token"]}"\nsite_recipient = "{box["site_recipient"]}"\n'
            f'spool_dir = "{spool}"\nquota_bytes = {quota_bytes}\nmax_clip_age_days = {max_clip_age_days}\n'
            "heartbeat_seconds = 2\n"
            "poll_seconds = 0.3\nsettle_seconds = 0.5\nquarantine_after_seconds = 1\n"
            "backoff_base_seconds = 0.2\nbackoff_cap_seconds = 2\nrefusal_delay_seconds = 0.5\n" + cameras
        )
        running = RunningAgent(config, spool, folders)
        started.append(running)
        return running

    yield configure
    for running in started:
        running.stop(signal.SIGKILL)


def drop_clip(folder: Path, name: str, ended_ago: timedelta) -> str:
    """An NVR finishing a 2 s segment: written elsewhere, moved into the watched folder; its sha256."""
    staging = folder.parent / f".{name}"
    make_clip(staging, seconds=2, width=320, height=240, fps=10, label=name)
    ended = (datetime.now(UTC) - ended_ago).timestamp()
    os.utime(staging, (ended, ended))
    staging.rename(folder / name)
    return sha256_of(folder / name)


def indexed_hashes(official, camera_id: str) -> list[str]:
    """The sha256 of every clip of the camera indexed with a recording from the last three hours."""
    query: dict[str, object] = {"from": (datetime.now(UTC) - timedelta(hours=3)).isoformat(), "limit": 100}
    hashes: list[str] = []
    while True:
        page = official("operator", "aizkraukle").get(f"/cameras/{camera_id}/clips", query).expect(200)
        hashes += [clip["sha256"] for clip in page["clips"]]
        if not page.get("cursor"):
            return hashes
        query["cursor"] = page["cursor"]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


def spool_is_empty(running: RunningAgent) -> bool:
    pending = running.spool / "pending"
    return pending.exists() and not any(pending.iterdir())


def sealed_in_spool(running: RunningAgent) -> int:
    pending = running.spool / "pending"
    return len(list(pending.glob("*.json"))) if pending.exists() else 0


def test_watched_folder_clips_arrive_sealed_exactly_once_and_corrupt_ones_become_gaps(agent, archive, official, uplink):
    running = agent()
    sent = [
        drop_clip(running.folders["aizkraukle-square"], f"seg-{n}.mp4", timedelta(minutes=20 - n)) for n in range(3)
    ]
    junk = running.folders["aizkraukle-park"] / "broken.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(5000))
    old = datetime.now(UTC).timestamp() - 30
    os.utime(junk, (old, old))

    running.start()
    wait_for(lambda: set(sent) <= set(indexed_hashes(official, "aizkraukle-square")), "all clips indexed")
    wait_for(lambda: spool_is_empty(running), "the spool emptied")

    def gap_reasons() -> list[str]:
        window = {"from": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}
        gaps = official("operator", "aizkraukle").get("/cameras/aizkraukle-park/gaps", window).expect(200)["gaps"]
        return [gap["reason"] for gap in gaps]

    wait_for(lambda: "corrupt" in gap_reasons(), "the corrupt file reported as a gap")
    assert sorted(indexed_hashes(official, "aizkraukle-square")).count(sent[0]) == 1
    assert not any(running.folders["aizkraukle-square"].iterdir())  # plaintext gone from the box
    assert len(uplink.sent(r"^PUT ")) == 3  # the S3 PUTs crossed the uplink too, once each


@pytest.fixture(scope="module")
def gateway_only_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with `pip install '.[gateway]'` and nothing else, as on the edge box (README)."""
    venv = tmp_path_factory.mktemp("edge") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"{ROOT}[gateway]"],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return venv


def test_the_agent_runs_from_a_venv_with_only_the_gateway_extra(gateway_only_venv, agent, official, tmp_path):
    python = str(gateway_only_venv / "bin" / "python")
    cloud_side = subprocess.run(
        [python, "-c", "import boto3"], cwd=tmp_path, capture_output=True, check=False, timeout=60
    )
    assert cloud_side.returncode != 0  # none of the Lambda's dependencies came along
    running = agent()
    running.command, running.cwd = (str(gateway_only_venv / "bin" / "safe-society-gateway"),), tmp_path
    sent = drop_clip(running.folders["aizkraukle-park"], "edge-0.mp4", timedelta(minutes=50))

    running.start()

    wait_for(lambda: sent in indexed_hashes(official, "aizkraukle-park"), "the clip indexed")


def test_clips_recorded_while_the_uplink_is_cut_mid_put_arrive_once_it_is_back(agent, official, uplink):
    running = agent()
    in_flight = uplink.stall(r"^PUT ")  # the first S3 PUT is on the wire when the link dies
    running.start()
    before = [drop_clip(running.folders["aizkraukle-park"], f"pre-{n}.mp4", timedelta(minutes=40 - n)) for n in (0, 1)]
    assert in_flight.wait(60), "no PUT began"
    uplink.cut()
    during = [drop_clip(running.folders["aizkraukle-park"], f"out-{n}.mp4", timedelta(minutes=35 - n)) for n in (0, 1)]
    wait_for(lambda: sealed_in_spool(running) >= 3, "clips sealed into the spool while the link is down")
    arrived = set(indexed_hashes(official, "aizkraukle-park"))
    # Several clips go at once: the other clip recorded before may have gone through before the cut.
    assert not set(during) & arrived and not set(before) <= arrived

    uplink.restore()
    wait_for(lambda: set(before + during) <= set(indexed_hashes(official, "aizkraukle-park")), "backlog uploaded")
    wait_for(lambda: spool_is_empty(running), "the spool emptied")

    hashes = indexed_hashes(official, "aizkraukle-park")
    assert all(hashes.count(sha) == 1 for sha in before + during)


# Where the agent dies: the uplink is held so that the kill lands at that very step of a clip's way.
KILL_POINTS = {
    "after_sealing": None,  # the uplink is down: the clip waits sealed in the spool
    "during_the_put": r"^PUT ",  # S3 has the request's start, not its end
    # S3 has the clip (its answer vouches for it, and the agent deletes its copy on that answer): the answer
    # is lost on the way back, the agent does not know.
    "after_the_put_before_confirmation": r"^PUT ",
}


@pytest.mark.parametrize("moment", KILL_POINTS)
def test_an_agent_killed_at_each_step_loses_and_doubles_nothing(agent, official, uplink, moment):
    running = agent()
    camera = "aizkraukle-square"
    minutes = {name: 90 + 10 * n for n, name in enumerate(KILL_POINTS)}[moment]  # each run its own recordings
    held = None
    if KILL_POINTS[moment] is None:
        uplink.cut()
    else:
        held = uplink.stall(KILL_POINTS[moment], answer_lost=moment == "after_the_put_before_confirmation")
    sent = [drop_clip(running.folders[camera], f"{moment}-{n}.mp4", timedelta(minutes=minutes - n)) for n in range(3)]

    running.start()
    if held is None:
        wait_for(lambda: sealed_in_spool(running) == 3, "clips sealed")
    else:
        assert held.wait(60), f"the agent never reached {moment}"
    running.stop(signal.SIGKILL)
    uplink.cut()  # the held request dies with the link …
    uplink.restore()  # … which is back for the restarted agent
    running.start()
    wait_for(lambda: set(sent) <= set(indexed_hashes(official, camera)), "all clips indexed")
    wait_for(lambda: spool_is_empty(running), "the spool emptied")

    hashes = indexed_hashes(official, camera)
    assert all(hashes.count(sha) == 1 for sha in sent)
    assert not any(running.folders[camera].iterdir())


def parts_sent(uplink: UplinkProxy) -> list[int]:
    """The part numbers of every part PUT through the uplink, in the order they went."""
    return [int(match[1]) for line in uplink.sent(PART_PUT.pattern) if (match := PART_PUT.search(line))]


def test_a_lost_answer_to_the_put_does_not_send_the_clip_again(agent, official, uplink):
    running = agent()
    answered = uplink.stall(r"^PUT ", answer_lost=True)  # S3 stores the clip; its 200 never reaches the agent
    sent = drop_clip(running.folders["aizkraukle-square"], "lost-answer.mp4", timedelta(minutes=130))

    running.start()
    assert answered.wait(60), "no PUT was made"
    wait_for(lambda: sent in indexed_hashes(official, "aizkraukle-square"), "the clip indexed")
    wait_for(lambda: spool_is_empty(running), "the spool emptied")

    assert indexed_hashes(official, "aizkraukle-square").count(sent) == 1
    assert len(uplink.sent(r"^PUT ")) == 1  # registered again, it was told the archive has it
    assert len(uplink.sent(r"^POST /gateway/clips ")) >= 2


def test_a_200_mb_clip_killed_half_way_through_its_parts_resumes_without_resending_stored_ones(
    agent, archive, official, uplink, tmp_path
):
    running = agent()
    staging = tmp_path / "big.mp4"
    make_clip(staging, seconds=2, width=320, height=240, fps=10, label="big")
    padding = 200_000_000 - staging.stat().st_size
    with staging.open("ab") as grown:  # a real recording grown to 200 MB with an ISO-BMFF `free` box
        grown.write(struct.pack(">I4s", padding, b"free"))
        grown.write(bytes(padding - 8))
    sha = sha256_of(staging)
    ended = (datetime.now(UTC) - timedelta(minutes=150)).timestamp()
    os.utime(staging, (ended, ended))
    half_way = uplink.stall(r"^PUT \S*[?&]partNumber=7\b")

    staging.rename(running.folders["aizkraukle-park"] / "big.mp4")
    running.start()
    assert half_way.wait(120), "part 7 was never sent"
    running.stop(signal.SIGKILL)
    before_kill = parts_sent(uplink)
    uplink.cut()
    uplink.restore()
    completion = r"^POST \S*/multipart/complete "
    # Then the archive's answer to the completion is lost on its way back: the agent must not start over.
    completion_answered = uplink.stall(completion, answer_lost=True)
    running.start()
    assert completion_answered.wait(120), "the upload was never completed"
    wait_for(lambda: sha in indexed_hashes(official, "aizkraukle-park"), "the 200 MB clip indexed", timeout_s=240)
    wait_for(lambda: spool_is_empty(running), "the spool emptied")

    every_put = Counter(parts_sent(uplink))
    assert before_kill == [1, 2, 3, 4, 5, 6, 7]
    assert sorted(every_put) == list(range(1, max(every_put) + 1)) and max(every_put) >= 12  # 16 MiB parts
    # Only the part cut off by the kill went twice; the six S3 held were never sent again, nor any after
    # the completion whose answer was lost.
    assert {number: count for number, count in every_put.items() if count > 1} == {7: 2}
    assert len(uplink.sent(completion)) == 1
    clip = (
        official("investigator", "aizkraukle")
        .get(
            "/cameras/aizkraukle-park/clips",
            {"from": (datetime.now(UTC) - timedelta(minutes=155)).isoformat(), "limit": 100},
        )
        .expect(200)["clips"]
    )
    assert [c["size"] for c in clip if c["sha256"] == sha] == [200_000_000]


def test_a_full_spool_drops_the_oldest_clips_and_the_gap_is_visible(agent, official, uplink):
    uplink.cut()  # nothing leaves the box, so the spool fills
    running = agent(quota_bytes=60_000)
    running.start()
    for n in range(6):  # ~20 kB sealed each: three fit
        drop_clip(running.folders["aizkraukle-park"], f"full-{n}.mp4", timedelta(minutes=70 - n))
    wait_for(lambda: not any(running.folders["aizkraukle-park"].iterdir()), "every clip taken")
    uplink.restore()
    wait_for(lambda: spool_is_empty(running), "the spool drained")
    # This test's six recordings ended 70 to 65 minutes ago.
    window = {
        "from": (datetime.now(UTC) - timedelta(minutes=75)).isoformat(),
        "to": (datetime.now(UTC) - timedelta(minutes=62)).isoformat(),
    }

    def quota_gaps() -> list[dict]:
        gaps = official("operator", "aizkraukle").get("/cameras/aizkraukle-park/gaps", window).expect(200)["gaps"]
        return [gap for gap in gaps if gap["reason"] == "quota"]

    def kept_ends() -> list[str]:
        kept = official("operator", "aizkraukle").get("/cameras/aizkraukle-park/clips", window | {"limit": 100})
        return [clip["end"] for clip in kept.expect(200)["clips"]]

    # Every recording either arrives (once ingest has indexed it) or is an explained gap.
    wait_for(lambda: len(kept_ends()) + len(quota_gaps()) == 6, "all six recordings accounted for")
    dropped_ends = [gap["end"] for gap in quota_gaps()]
    assert dropped_ends and kept_ends() and max(dropped_ends) < min(kept_ends())  # the oldest were dropped


def test_status_follow_shows_the_drain_rate_of_the_last_seconds_not_since_an_outage_began(agent, uplink):
    # Issue 12: the rate was counted from when `status --follow` started, the outage included.
    uplink.cut()
    running = agent()
    running.start()
    for n in range(5):
        drop_clip(running.folders["aizkraukle-park"], f"follow-{n}.mp4", timedelta(minutes=100 - n))
    wait_for(lambda: sealed_in_spool(running) == 5, "the backlog sealed while the link is down")
    command = [*running.command, "status", "--config", str(running.config), "--follow", "--window", "4"]
    with subprocess.Popen(command, cwd=running.cwd, stdout=subprocess.PIPE, text=True) as follower:
        lines = TimedLines(follower)
        try:
            began = lines.next_bar(timeout_s=30)
            for _ in range(10):  # 20 s of outage seen by the command (it reads every 2 s)
                assert "no progress yet" in lines.next_bar(timeout_s=30)[1]
            uplink.restore()
            done = lines.next_bar(timeout_s=90)
            while not done[1].endswith("done"):
                done = lines.next_bar(timeout_s=90)
        finally:
            follower.kill()
    waiting_at_start = _size_in_bytes(re.search(r"waiting \(([\d.]+ [kM]B)\)", began[1]))
    shown_rate = _size_in_bytes(re.search(r"([\d.]+ [kM]B)/s", done[1]))
    since_the_start = waiting_at_start / (done[0] - began[0])
    # Counted since the start the rate would be since_the_start (the 20 s outage and the drain); over the
    # last 4 s it is the drain's own.
    assert shown_rate >= 1.5 * since_the_start, (done[1], since_the_start)


class TimedLines:
    """The progress lines a running `status --follow` prints, each with the time it arrived."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[tuple[float, str]] = queue.Queue()
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stdout: TextIO) -> None:
        for line in stdout:
            self._lines.put((time.monotonic(), line))

    def next_bar(self, timeout_s: float) -> tuple[float, str]:
        deadline = time.monotonic() + timeout_s
        while True:
            at, line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line.startswith("["):
                return at, line.rstrip()


def _size_in_bytes(found: re.Match[str] | None) -> float:
    assert found, "no size in the line"
    number, unit = found.group(1).split()
    return float(number) * (1e3 if unit == "kB" else 1e6)


def test_a_fast_nvr_clock_is_corrected_and_a_clip_refused_for_good_is_a_gap_officials_see(agent, archive, official):
    # Issue 12: a clip whose file time is 10 minutes ahead used to be refused as "in the future" until it
    # went to failed/, unreported, while its end in the heartbeat hid the camera from the silence check.
    running = agent(max_clip_age_days=8)  # the agent keeps a day longer than the site's retention of 7
    began = datetime.now(UTC)
    fast = drop_clip(running.folders["aizkraukle-square"], "fast.mp4", timedelta(minutes=-10))
    drop_clip(running.folders["aizkraukle-park"], "stale.mp4", timedelta(days=7, hours=12))  # retention over
    running.start()
    operator, admin = official("operator", "aizkraukle"), official("admin", "aizkraukle")

    def gateway() -> dict:
        listed = admin.get("/gateways").expect(200)["gateways"]
        return next(g for g in listed if g["gateway_id"] == archive.gateways["aizkraukle"]["gateway_id"])

    def square_segment_at() -> datetime | None:
        cameras = (gateway()["last_heartbeat"] or {}).get("cameras", {})
        at = cameras.get("aizkraukle-square", {}).get("last_segment_at")
        return datetime.fromisoformat(at) if at else None

    wait_for(lambda: (square_segment_at() or began) > began, "a heartbeat with this test's segment")
    # Only what the archive accepted speaks for a camera: no segment later than the heartbeat's arrival.
    assert square_segment_at() <= datetime.fromisoformat(gateway()["last_seen_at"])

    wait_for(lambda: fast in indexed_hashes(official, "aizkraukle-square"), "the fast clock's clip indexed")
    listed = operator.get("/cameras/aizkraukle-square/clips", {"limit": 100}).expect(200)["clips"]
    (clip_id,) = [clip["clip_id"] for clip in listed if clip["sha256"] == fast]
    clip = operator.get(f"/clips/{clip_id}").expect(200)
    assert datetime.fromisoformat(clip["end"]) <= datetime.now(UTC) + timedelta(seconds=2)
    assert 590 < clip["clock_correction_s"] < 610

    stale_window = {
        "from": (began - timedelta(days=7, hours=13)).isoformat(),
        "to": (began - timedelta(days=7, hours=11)).isoformat(),
    }

    def refused_gaps() -> list[dict]:
        gaps = operator.get("/cameras/aizkraukle-park/gaps", stale_window).expect(200)["gaps"]
        return [gap for gap in gaps if gap["reason"] == "refused"]

    wait_for(lambda: len(refused_gaps()) == 1, "the clip refused for good reported as a gap")
    assert "retention" in refused_gaps()[0]["detail"]
    wait_for(lambda: gateway()["failed_clips"] == 1, "the failed clip counted in GET /gateways")
    assert len(list((running.spool / "failed").glob("*.json"))) == 1  # kept on the box for a person


def test_a_camera_whose_only_clip_was_refused_for_good_is_listed_silent(agent, official, archive):
    # Issue 12: a clip the archive refused still spoke for its camera in the heartbeat, and an older agent's
    # state file keeps such an end from the future (the archive took the later of it and its own index).
    admin = official("admin", "aizkraukle")
    camera = "aizkraukle-refused-only"  # its own camera and box: the session's other tests feed the demo ones
    admin.post("/sites/aizkraukle/cameras", {"camera_id": camera, "name": "Refused only", "location": "test"}).expect(
        201
    )
    box = admin.post("/gateways", {"site_id": "aizkraukle", "name": "refusals", "camera_ids": [camera]}).expect(201)
    running = agent(max_clip_age_days=8, box=box, watched=(camera,))  # a day longer than the site's retention
    older_state = {"last_segment_at": {camera: iso(datetime.now(UTC) + timedelta(days=1))}}
    Spool(running.spool).save_state(AgentState.from_json(older_state))
    drop_clip(running.folders[camera], "past-retention.mp4", timedelta(days=7, hours=12))
    running.start()

    def listed() -> dict:
        return next(g for g in admin.get("/gateways").expect(200)["gateways"] if g["gateway_id"] == box["gateway_id"])

    # A heartbeat after the clip failed for good: it reports the camera, and the failed clip.
    wait_for(lambda: listed()["failed_clips"] == 1, "the refused clip counted in a heartbeat")
    assert camera in listed()["last_heartbeat"]["cameras"]
    assert listed()["silent_cameras"] == [camera]
    window = {"from": (datetime.now(UTC) - timedelta(days=8)).isoformat()}
    gaps = official("operator", "aizkraukle").get(f"/cameras/{camera}/gaps", window).expect(200)["gaps"]
    assert [gap["reason"] for gap in gaps] == ["refused"]


# libfaketime (Debian's faketime) runs a process on a clock of its own. Bookworm's 0.9.10 with Python 3.13:
# its fake monotonic clock makes every timed lock wait (sem_clockwait) hang, so the monotonic clock stays
# real (FAKETIME_DONT_FAKE_MONOTONIC); that breaks time.sleep (EINVAL, libfaketime issue 426), which the
# agent never calls. File times stay real (NO_FAKE_STAT): the test sets them as the box's NVR would.
# The test command installs it (scripts/install-test-tools): missing, this test fails rather than skips.
FAKETIME = next(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"), None)


def clock_ahead(offset: str) -> dict[str, str]:
    assert FAKETIME is not None, "Debian's faketime is missing: scripts/install-test-tools installs it"
    return {
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "NO_FAKE_STAT": "1",
    }


def test_a_box_whose_clock_runs_ten_minutes_ahead_has_its_clip_corrected_not_refused(agent, archive, official, uplink):
    # The agent learns its offset to the archive from answers; with the uplink cut it has none when it takes
    # the clip, so the clip goes out with the box's (fast) times and the archive answers not_yet.
    uplink.cut()
    running = agent()
    running.environment = clock_ahead("+10m")
    began = datetime.now(UTC)
    # The NVR runs on the box's clock: its segment ends ten minutes ahead of the archive's.
    sent = drop_clip(running.folders["aizkraukle-square"], "box-ahead.mp4", timedelta(minutes=-10))
    running.start()
    wait_for(lambda: sealed_in_spool(running) == 1, "the clip taken while the uplink is cut")
    uplink.restore()

    wait_for(lambda: sent in indexed_hashes(official, "aizkraukle-square"), "the clip indexed")
    operator = official("operator", "aizkraukle")
    listed = operator.get("/cameras/aizkraukle-square/clips", {"limit": 100}).expect(200)["clips"]
    (clip_id,) = [clip["clip_id"] for clip in listed if clip["sha256"] == sent]
    clip = operator.get(f"/clips/{clip_id}").expect(200)
    assert 590 < clip["clock_correction_s"] < 610
    assert began <= datetime.fromisoformat(clip["end"]) <= datetime.now(UTC) + timedelta(seconds=2)
    events = running.events()
    assert "clip_not_yet" in events  # the archive's clock had not reached the clip's end …
    assert "clip_refused" not in events and "clip_failed" not in events  # … which no refusal counted
    window = {"from": (began - timedelta(minutes=1)).isoformat()}
    gaps = operator.get("/cameras/aizkraukle-square/gaps", window).expect(200)["gaps"]
    assert [gap for gap in gaps if gap["reason"] == "refused"] == []
    # The box really ran ten minutes ahead: its heartbeat says the archive's clock is behind by that.
    gateway_id = archive.gateways["aizkraukle"]["gateway_id"]

    def offset_reported() -> float:
        listed = official("admin", "aizkraukle").get("/gateways").expect(200)["gateways"]
        return next(g for g in listed if g["gateway_id"] == gateway_id)["last_heartbeat"]["clock_offset_s"]

    wait_for(lambda: -610 < offset_reported() < -590, "a heartbeat with the box's offset")


@needs_camera
def test_an_rtsp_camera_recorded_through_a_sigkill_mid_segment_arrives_whole_and_once(agent, official, camera):
    camera_id = "aizkraukle-station"
    running = agent(rtsp={camera_id: camera.url})
    began = datetime.now(UTC)

    def recorded() -> list[dict]:
        """This test's clips of the camera, oldest first."""
        window = {"from": (began - timedelta(seconds=30)).isoformat(), "limit": 100}
        clips = official("operator", "aizkraukle").get(f"/cameras/{camera_id}/clips", window).expect(200)["clips"]
        return sorted(clips, key=lambda clip: clip["start"])

    def a_second_into_the_next_segment() -> bool:
        """The segment ffmpeg is recording holds a second of video already."""
        for segment in running.folders[camera_id].glob("*.mp4"):
            # Taken by the agent meanwhile, or ending in a fragment still being written: look again.
            with contextlib.suppress(FileNotFoundError, InvalidVideo):
                newer = segment.stat().st_mtime > recorded_until.timestamp()
                if newer and probe(segment, MediaLimits()).duration_s >= 1:
                    return True
        return False

    running.start()
    wait_for(lambda: len(recorded()) >= 2, "two segments recorded and indexed")
    recorded_until = datetime.fromisoformat(recorded()[-1]["end"])
    wait_for(a_second_into_the_next_segment, "a second into the next segment")
    killed_at = datetime.now(UTC)
    running.stop(signal.SIGKILL)  # in the middle of a segment: ffmpeg, told by the kernel, finishes it
    running.start()
    wait_for(lambda: sum(datetime.fromisoformat(c["start"]) > killed_at for c in recorded()) >= 2, "recording resumed")
    running.stop()  # SIGTERM: ffmpeg finishes the segment under way, which the next start takes

    clips = recorded()
    spans = [(datetime.fromisoformat(c["start"]), datetime.fromisoformat(c["end"])) for c in clips]
    breaks = [(later[0] - earlier[1]).total_seconds() for earlier, later in zip(spans, spans[1:], strict=False)]
    assert len({c["sha256"] for c in clips}) == len(clips)  # none doubled
    assert min(breaks) > -0.25  # none overlapping
    # Nothing lost while the agent ran: segments follow each other; the one longer break is the restart.
    assert sorted(breaks)[-2] < 0.25 and max(breaks) < 15, breaks
    lengths = [(end - start).total_seconds() for start, end in spans]
    assert all(0 < length <= 3.5 for length in lengths), lengths  # whole segments, the one cut by the kill shorter
    # What the segment seen under way had recorded (a second, from where the indexed clips ended) arrived too,
    # whether or not ffmpeg began yet another segment before the kill landed.
    recorded_before_kill = max(end for start, end in spans if start < killed_at)
    assert recorded_before_kill >= recorded_until + timedelta(seconds=0.75), (recorded_until, spans)
