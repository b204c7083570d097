"""The edge agent against the real local archive: watched folders in, sealed uploads out, exactly once,
through an uplink outage and a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.clipmaker import make_clip
from gateway.uplink import sha256_of
from local.stack import ROOT
from tests.e2e.uplink_proxy import UplinkProxy

pytestmark = pytest.mark.e2e
CAMERAS = ("aizkraukle-square", "aizkraukle-park")


@dataclass
class RunningAgent:
    config: Path
    spool: Path
    folders: dict[str, Path]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(self.config)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(self.spool.parent / "agent.log").open("ab"),
        )

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)


@pytest.fixture
def agent(archive, tmp_path) -> Iterator[Callable[[str], RunningAgent]]:
    """A configured agent for the Aizkraukle gateway, pointed at `api_url`; stopped after the test."""
    started: list[RunningAgent] = []

    def configure(api_url: str, quota_bytes: int = 1_000_000_000) -> RunningAgent:
        folders = {camera: tmp_path / "nvr" / camera for camera in CAMERAS}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        spool = tmp_path / "spool"
        cameras = "\n".join(f'[[cameras]]\ncamera_id = "{c}"\nwatch_dir = "{f}"\n' for c, f in folders.items())
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'api_url = "{api_url}"\ntoken = "{archive.gateways["aizkraukle"]["token"]}"\n'
            f'site_recipient = "{archive.gateways["aizkraukle"]["site_recipient"]}"\n'
            f'spool_dir = "{spool}"\nquota_bytes = {quota_bytes}\nmax_clip_age_days = 7\nheartbeat_seconds = 2\n'
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
    window = {"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "limit": 100}
    clips = official("operator", "aizkraukle").get(f"/cameras/{camera_id}/clips", window).expect(200)["clips"]
    return [clip["sha256"] for clip in clips]


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


def test_watched_folder_clips_arrive_sealed_exactly_once_and_corrupt_ones_become_gaps(agent, archive, official):
    running = agent(archive.api_url)
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
    gaps = official("operator", "aizkraukle").get(
        "/cameras/aizkraukle-park/gaps", {"from": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}
    )

    assert sorted(indexed_hashes(official, "aizkraukle-square")).count(sent[0]) == 1
    assert "corrupt" in [gap["reason"] for gap in gaps.expect(200)["gaps"]]
    assert not any(running.folders["aizkraukle-square"].iterdir())  # plaintext gone from the box


def test_clips_recorded_during_an_uplink_outage_arrive_once_it_is_back(agent, archive, official):
    proxy = UplinkProxy(int(archive.api_url.rsplit(":", 1)[1]))
    try:
        running = agent(f"http://127.0.0.1:{proxy.port}")
        running.start()
        proxy.cut()
        during = [
            drop_clip(running.folders["aizkraukle-park"], f"out-{n}.mp4", timedelta(minutes=40 - n)) for n in range(3)
        ]
        wait_for(lambda: len(list((running.spool / "pending").glob("*.json"))) >= 3, "clips sealed into the spool")
        assert not set(during) & set(indexed_hashes(official, "aizkraukle-park"))

        proxy.restore()
        wait_for(lambda: set(during) <= set(indexed_hashes(official, "aizkraukle-park")), "backlog uploaded")
        wait_for(lambda: spool_is_empty(running), "the spool emptied")
    finally:
        proxy.close()

    hashes = indexed_hashes(official, "aizkraukle-park")
    assert all(hashes.count(sha) == 1 for sha in during)


def test_an_agent_killed_mid_run_loses_and_doubles_nothing(agent, archive, official):
    running = agent(archive.api_url)
    sent = [
        drop_clip(running.folders["aizkraukle-square"], f"kill-{n}.mp4", timedelta(minutes=50 - n)) for n in range(4)
    ]

    running.start()
    wait_for(lambda: (running.spool / "pending").exists() and any((running.spool / "pending").iterdir()), "work begun")
    running.stop(signal.SIGKILL)
    running.start()
    wait_for(lambda: set(sent) <= set(indexed_hashes(official, "aizkraukle-square")), "all clips indexed")
    wait_for(lambda: spool_is_empty(running), "the spool emptied")

    hashes = indexed_hashes(official, "aizkraukle-square")
    assert all(hashes.count(sha) == 1 for sha in sent)


def test_a_full_spool_drops_the_oldest_clips_and_the_gap_is_visible(agent, archive, official):
    proxy = UplinkProxy(int(archive.api_url.rsplit(":", 1)[1]))
    try:
        proxy.cut()  # nothing leaves the box, so the spool fills
        running = agent(f"http://127.0.0.1:{proxy.port}", quota_bytes=60_000)
        running.start()
        for n in range(6):  # ~20 kB sealed each: three fit
            drop_clip(running.folders["aizkraukle-park"], f"full-{n}.mp4", timedelta(minutes=70 - n))
        wait_for(lambda: not any(running.folders["aizkraukle-park"].iterdir()), "every clip taken")
        proxy.restore()
        wait_for(lambda: spool_is_empty(running), "the spool drained")
    finally:
        proxy.close()
    # This test's six recordings ended 70 to 65 minutes ago.
    window = {
        "from": (datetime.now(UTC) - timedelta(minutes=75)).isoformat(),
        "to": (datetime.now(UTC) - timedelta(minutes=62)).isoformat(),
    }

    def quota_gaps() -> list[dict]:
        gaps = official("operator", "aizkraukle").get("/cameras/aizkraukle-park/gaps", window).expect(200)["gaps"]
        return [gap for gap in gaps if gap["reason"] == "quota"]

    wait_for(lambda: len(quota_gaps()) >= 1, "the drops reported")
    kept = official("operator", "aizkraukle").get("/cameras/aizkraukle-park/clips", window | {"limit": 100})
    kept_ends = [clip["end"] for clip in kept.expect(200)["clips"]]
    dropped_ends = [gap["end"] for gap in quota_gaps()]
    assert len(kept_ends) + len(dropped_ends) == 6  # every recording either arrived or is an explained gap
    assert kept_ends and max(dropped_ends) < min(kept_ends)  # the oldest were the ones dropped
