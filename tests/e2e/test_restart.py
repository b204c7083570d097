"""The local archive keeps its data across a stop, and across a SIGKILL of every process it runs: clips,
logins, gateway tokens; a gateway agent keeps running through the restart and loses nothing; `--fresh`
starts empty."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.clipmaker import make_clip
from gateway.uplink import Uplink, put_clip, sha256_of
from local.api_client import ApiClient, Session
from local.aws import AwsEndpoint
from local.demo import DEMO_PASSWORD
from local.processes import free_port
from local.stack import ROOT, LocalArchive, LocalOptions
from tests.e2e.conftest import wait_for_status

pytestmark = pytest.mark.e2e


@pytest.fixture
def kept(tmp_path: Path) -> Iterator[Callable[[], LocalArchive]]:
    """`kept()` starts the archive on the same ports and state directory each time; all stopped after."""
    options = LocalOptions(
        workdir=tmp_path / "run",
        api_port=free_port(),
        aws_port=free_port(),
        simulator=False,
        retention_every_s=3600,
        state_dir=tmp_path / "state",
    )
    started: list[LocalArchive] = []

    def start() -> LocalArchive:
        archive = LocalArchive(options)
        started.append(archive)
        archive.start()
        return archive

    yield start
    for archive in started:
        archive.stop()


def kill_every_process(archive: LocalArchive) -> None:
    for process in archive.processes:
        os.killpg(process.pid, signal.SIGKILL)
    archive.stop()  # reaps them


def official(info: dict[str, Any], role: str) -> Session:
    """A logged-in demo official of Aizkraukle, from a run-info."""
    api = ApiClient(info["api_url"], AwsEndpoint(info["aws_endpoint"]), info["user_pool_client_id"])
    return api.login(f"{role}-aizkraukle", DEMO_PASSWORD)


def indexed_hashes(info: dict[str, Any], camera_id: str) -> list[str]:
    window = {"from": (datetime.now(UTC) - timedelta(hours=3)).isoformat(), "limit": 100}
    clips = official(info, "operator").get(f"/cameras/{camera_id}/clips", window).expect(200)["clips"]
    return [clip["sha256"] for clip in clips]


def record(folder: Path, name: str, ended_ago: timedelta) -> Path:
    """A 2 s H.264 clip with its file time at its end, as an NVR leaves it."""
    path = folder / name
    make_clip(path, seconds=2, width=320, height=240, fps=10, label=name)
    ended = (datetime.now(UTC) - ended_ago).timestamp()
    os.utime(path, (ended, ended))
    return path


def test_a_gateway_agent_loses_nothing_through_a_sigkill_of_the_whole_archive(kept, tmp_path):
    archive = kept()
    info = archive.info
    nvr = tmp_path / "nvr"
    nvr.mkdir()
    spool = tmp_path / "spool"
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'api_url = "{info.api_url}"\ntoken = "{info.gateways["aizkraukle"]["token"]}"\n'
        f'site_recipient = "{info.gateways["aizkraukle"]["site_recipient"]}"\n'
        f'spool_dir = "{spool}"\nquota_bytes = 1_000_000_000\nmax_clip_age_days = 7\nheartbeat_seconds = 2\n'
        "poll_seconds = 0.3\nsettle_seconds = 0.5\nbackoff_base_seconds = 0.2\nbackoff_cap_seconds = 1\n"
        f'[[cameras]]\ncamera_id = "aizkraukle-park"\nwatch_dir = "{nvr}"\n'
    )
    agent = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "agent.log").open("ab"),
    )
    staging = tmp_path / "staging"
    staging.mkdir()

    def drop(name: str, minutes_ago: int) -> str:
        """The NVR finishing a segment: written elsewhere, moved into the watched folder."""
        clip = record(staging, name, timedelta(minutes=minutes_ago))
        sha = sha256_of(clip)
        clip.rename(nvr / name)
        return sha

    def spool_empty() -> bool:
        pending = spool / "pending"
        return not any(nvr.iterdir()) and pending.exists() and not any(pending.iterdir())

    def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"not within {timeout_s:.0f} s: {what}"
            time.sleep(0.5)

    try:
        confirmed = [drop(f"before-{n}.mp4", 50 - n) for n in range(2)]
        # The agent has deleted its copies: from now on only the archive holds these clips.
        wait_for(spool_empty, "the agent's spool emptied")
        kill_every_process(archive)
        during = [drop(f"during-{n}.mp4", 40 - n) for n in range(2)]  # sealed and kept while it is down
        wait_for(lambda: len(list((spool / "pending").glob("*.json"))) == 2, "clips spooled while it is down")

        info = kept().info
        wait_for(spool_empty, "the backlog drained after the restart")
        # Received (S3 has the bytes) is what empties the spool; indexed follows once ingest has run.
        wait_for(lambda: set(confirmed + during) <= set(indexed_hashes(vars(info), "aizkraukle-park")), "all indexed")

        assert agent.poll() is None, "the agent stopped"
        hashes = indexed_hashes(vars(info), "aizkraukle-park")
        assert all(hashes.count(sha) == 1 for sha in confirmed + during), "a clip is doubled"
        # Replayed with the very object version the index names: a clip stored before the kill views whole.
        window = {"from": (datetime.now(UTC) - timedelta(hours=3)).isoformat(), "limit": 100}
        operator = official(vars(info), "operator")
        clips = operator.get("/cameras/aizkraukle-park/clips", window).expect(200)["clips"]
        clip_id = next(clip["clip_id"] for clip in clips if clip["sha256"] == confirmed[0])
        view = operator.post(f"/clips/{clip_id}/view", {"purpose": "checking the archive after a kill"})
        with urllib.request.urlopen(view.expect(200)["url"], timeout=30) as answer:  # noqa: S310 - its signed URL
            assert hashlib.sha256(answer.read()).hexdigest() == confirmed[0]
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait()


@contextlib.contextmanager
def run_local(run_dir: Path, ports: tuple[int, int], *options: str) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """`python -m local run` while the block runs: its run-info, and (after) what it printed; then Ctrl-C,
    which must stop every process it started."""
    running = subprocess.Popen(
        [sys.executable, "-m", "local", "run", "--run-dir", str(run_dir), "--no-simulator"]
        + ["--api-port", str(ports[0]), "--aws-port", str(ports[1]), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    info_file = run_dir / "run-info.json"
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 180
        while not info_file.exists():
            assert running.poll() is None, running.communicate()[1]
            assert time.monotonic() < deadline, "the archive did not start within 180 s"
            time.sleep(0.2)
        assert stat.S_IMODE(info_file.stat().st_mode) == 0o600
        info = json.loads(info_file.read_text())
        assert set(info["pids"]) == {"moto", "api", "jobs"}
        yield info, printed
    finally:
        running.send_signal(signal.SIGINT)
        banner, stderr = running.communicate(timeout=180)
        printed.append(banner)
    assert running.returncode == 0, stderr
    for pid in info["pids"].values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not info_file.exists()


def test_run_local_keeps_clips_logins_and_tokens_across_a_restart_and_fresh_forgets_them(tmp_path):
    ports = free_port(), free_port()
    clip = record(tmp_path, "before-the-stop.mp4", timedelta(seconds=30))
    end = datetime.fromtimestamp(clip.stat().st_mtime, UTC).replace(microsecond=0)
    with run_local(tmp_path / "run", ports) as (first, printed):
        curl = subprocess.run(["bash", "-c", first["curl_example"]], capture_output=True, text=True, check=True)
        assert "clips" in json.loads(curl.stdout)  # the banner's example works as printed
        with urllib.request.urlopen(f"{first['api_url']}/console", timeout=30) as page:  # noqa: S310 - our stack
            assert b'<div id="app">' in page.read()  # the console works at once
        uplink = Uplink(first["api_url"], first["gateways"]["aizkraukle"]["token"])
        registered = uplink.register("aizkraukle-square", end - timedelta(seconds=2), end, clip)
        put_clip(registered["upload"], clip)
        wait_for_status(uplink, registered["clip_id"], {"indexed"})

    with run_local(tmp_path / "run", ports) as (again, _):  # at once: the ports' TIME_WAIT does not stop it
        assert again["gateways"] == first["gateways"]  # the same gateway ids and tokens
        operator = official(again, "operator")  # the same logins
        view = operator.post(f"/clips/{registered['clip_id']}/view", {"purpose": "checking the restarted archive"})
        with urllib.request.urlopen(view.expect(200)["url"], timeout=30) as answer:  # noqa: S310 - its signed URL
            assert answer.read() == clip.read_bytes()
        assert official(again, "dpo").get("/audit/verify", {"site": "aizkraukle"}).expect(200)["intact"]

    with run_local(tmp_path / "run", ports, "--fresh") as (fresh, _):
        assert fresh["gateways"]["aizkraukle"]["token"] != first["gateways"]["aizkraukle"]["token"]
        assert official(fresh, "operator").get(f"/clips/{registered['clip_id']}").status == 404

    # The banner names no secret: the passwords and tokens are in the 0600 run-info file alone.
    assert DEMO_PASSWORD not in printed[0]
    assert all(g["token"].split(".", 1)[1] not in printed[0] for g in first["gateways"].values())
    assert "run-info.json" in printed[0]
    assert f"Console        {first['api_url']}/console" in printed[0]  # beside the API's URL, as printed
