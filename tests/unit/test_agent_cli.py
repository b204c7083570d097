"""The configuration, `python -m gateway status`, and `python -m gateway run` under SIGTERM."""

from __future__ import annotations

import io
import json
import random
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyrage
import pytest

from gateway.agent.cli import main
from gateway.agent.config import ConfigError, load_config, parse_config
from gateway.agent.durable import is_temp
from gateway.agent.spool import ClipState
from gateway.agent.status import follow, status_report
from tests.unit.test_agent_support import TOKEN, Site, files_under, now, settle, sha256_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "gateway" / "gateway.example.toml"


def write_config(site: Site, path: Path, **extra: Any) -> Path:
    config = site.config
    lines = [
        f'api_url = "{config.api_url}"',
        f'token = "{config.token}"',
        f'site_recipient = "{config.site_recipient}"',
        f'spool_dir = "{config.spool_dir}"',
        f"quota_bytes = {config.quota_bytes}",
        f"max_clip_age_days = {config.max_clip_age_days}",
        *(f"{key} = {json.dumps(value)}" for key, value in extra.items()),
    ]
    for camera in config.cameras:
        lines += ["[[cameras]]", f'camera_id = "{camera.camera_id}"', f'watch_dir = "{camera.watch_dir}"']
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def finish_in_peace(site: Site, command: list[str], clips: int, timeout_s: float) -> None:
    """Run the agent until the archive has received `clips` clips and its spool holds none (or the time is
    up: the caller's assertions then say what is missing), then stop it with SIGTERM."""
    agent = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and (
            len(site.archive.received()) < clips or files_under(site.config.spool_dir / "pending")
        ):
            time.sleep(0.05)
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=15)
    finally:
        if agent.poll() is None:
            agent.kill()


def test_status_prints_clips_and_bytes_per_state_age_last_upload_and_drops(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.archive.stop()
    site.record("cam-a", ended_ago=timedelta(minutes=3))
    site.record("cam-b")
    site.record("cam-b")
    (site.watch_dir("cam-a") / "broken.mp4").write_bytes(b"not a video")
    agent = site.agent()
    settle(agent, now())
    first, *_ = agent.spool.clips()
    agent.spool.move_to_failed(replace(first, state=ClipState.FAILED, refusals=5, last_error="HTTP 403 forbidden"))
    config = write_config(site, tmp_path / "gateway.toml")

    assert main(["status", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.split()}
    assert lines["sealed"][0] == "2" and int(lines["sealed"][1]) > 0
    assert lines["failed"][0] == "1" and lines["quarantine"][0] == "1"
    assert lines["registered"] == ["0", "0"] and lines["uploaded"] == ["0", "0"]
    assert "oldest pending: " in text and "last upload: never" in text
    assert "received by the archive, ever: 0 clips, 0 bytes" in text
    assert "drops: 1 (corrupt 1); 1 not yet reported" in text
    assert "HTTP 403 forbidden" in text

    assert main(["status", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["states"]["sealed"]["clips"] == 2 and report["drops"]["unreported"] == 1
    assert report["waiting"] == {"clips": 2, "bytes": report["states"]["sealed"]["bytes"]}  # failed is not waiting
    assert 50 < report["oldest_pending_age_s"] < 120
    assert report["total_bytes"] <= report["quota_bytes"]


def test_status_counts_what_the_archive_confirmed(site: Site, tmp_path: Path) -> None:
    for minutes in (3, 2, 1):
        site.record("cam-a", ended_ago=timedelta(minutes=minutes))
    agent = site.agent()
    settle(agent, now())
    agent.run_once(now())
    sealed_bytes = sum(clip.registration["sealed"]["size"] for clip in site.archive.received())

    report = status_report(agent.spool, site.config.quota_bytes, now())
    assert report["uploaded"] == {"clips": 3, "bytes": sealed_bytes}
    assert report["waiting"] == {"clips": 0, "bytes": 0}
    # The counters outlive a restart.
    assert status_report(site.agent().spool, site.config.quota_bytes, now())["uploaded"]["clips"] == 3


def test_status_follow_draws_a_bar_while_the_backlog_drains_and_stops_when_it_is_empty() -> None:
    def report(uploaded: int, waiting: int) -> dict[str, Any]:
        return {
            "uploaded": {"clips": uploaded, "bytes": uploaded * 5_000_000},
            "waiting": {"clips": waiting, "bytes": waiting * 5_000_000},
        }

    reads = iter([report(10, 4), report(10, 4), report(12, 2), report(14, 0)])  # the first is the starting point
    ticks = iter([100.0, 102.0, 104.0, 106.0])
    waits: list[float] = []
    out = io.StringIO()

    follow(lambda: next(reads), out, waits.append, lambda: next(ticks), every_s=2.0)

    lines = out.getvalue().splitlines()
    assert lines == [
        "[------------------------------]   0.0%  0 sent, 4 waiting (20.0 MB)  0 kB/s  no progress yet",
        "[###############---------------]  50.0%  2 sent, 2 waiting (10.0 MB)  2.5 MB/s  4s left",
        "[##############################] 100.0%  4 sent, 0 waiting (0 kB)  3.3 MB/s  done",
    ]
    assert waits == [2.0, 2.0]  # no wait after the last line


def test_status_follow_measures_the_rate_over_a_recent_window_not_since_an_outage_began() -> None:
    # Ten minutes of outage with 20 clips of 5 MB waiting, then one clip confirmed every 2 s.
    def report(sent: int) -> dict[str, Any]:
        return {
            "uploaded": {"clips": sent, "bytes": sent * 5_000_000},
            "waiting": {"clips": 20 - sent, "bytes": (20 - sent) * 5_000_000},
        }

    times = [float(t) for t in range(0, 642, 2)]
    sent = [max(0, (int(t) - 600) // 2) for t in times]
    reads, ticks = iter([report(0), *map(report, sent)]), iter([0.0, *times])
    out = io.StringIO()

    follow(lambda: next(reads), out, lambda _s: None, lambda: next(ticks), every_s=2.0, window_s=20.0)

    lines = out.getvalue().splitlines()
    assert lines[times.index(300.0)].endswith("0 kB/s  no progress yet")
    # 30 s into the drain: 15 sent, 25 MB left at the last 20 s's 2.5 MB/s (not 75 MB over 630 s).
    assert lines[times.index(630.0)].endswith("15 sent, 5 waiting (25.0 MB)  2.5 MB/s  10s left")
    assert lines[-1].endswith("done")


def test_status_without_a_spool_says_so(site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(site, tmp_path / "gateway.toml")
    assert main(["status", "--config", str(config)]) == 1
    assert "no spool" in capsys.readouterr().err
    assert not site.config.spool_dir.exists()  # status never creates anything


def test_the_example_config_refuses_to_start_until_filled_in(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="token"):
        load_config(EXAMPLE)
    raw = tomllib.loads(EXAMPLE.read_text())
    raw |= {"token": TOKEN, "site_recipient": str(pyrage.x25519.Identity.generate().to_public())}
    config = parse_config(raw)
    assert config.heartbeat_seconds == 120 and len(config.cameras) == 2 and config.gateway_id == "gw-test-site-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quota_byte": 5}, "unknown keys: quota_byte"),
        ({"api_url": "http://archive.example.eu"}, "https"),
        ({"token": "no-dot"}, "token"),
        ({"site_recipient": "age1notakey"}, "site_recipient"),
        ({"spool_dir": "spool"}, "absolute"),
        ({"quota_bytes": 0}, "quota_bytes"),
        ({"proxy_url": "https://proxy.example.lv:3128"}, "proxy_url"),
        ({"proxy_url": "http://proxy.example.lv"}, "proxy_url"),
        ({"proxy_url": "http://proxy.example.lv:3128/path"}, "proxy_url"),
        ({"cameras": [{"camera_id": "Cam A", "watch_dir": "/srv/a"}]}, "camera_id"),
        (
            {"cameras": [{"camera_id": "cam-a", "watch_dir": "/srv"}, {"camera_id": "cam-b", "watch_dir": "/srv/b"}]},
            "inside",
        ),
    ],
)
def test_config_mistakes_stop_the_agent_at_start(site: Site, change: dict[str, Any], message: str) -> None:
    config = site.config
    raw: dict[str, Any] = {
        "api_url": config.api_url,
        "token": config.token,
        "site_recipient": config.site_recipient,
        "spool_dir": str(config.spool_dir),
        "quota_bytes": config.quota_bytes,
        "max_clip_age_days": 7,
        "cameras": [{"camera_id": "cam-a", "watch_dir": "/srv/a"}],
    } | change
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_run_uploads_and_stops_cleanly_on_sigterm(site: Site, tmp_path: Path) -> None:
    site.record("cam-a")
    config = write_config(site, tmp_path / "gateway.toml", poll_seconds=0.1, heartbeat_seconds=0.5, settle_seconds=0)
    agent = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not (site.archive.received() and site.archive.heartbeats) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site.archive.received() and site.archive.heartbeats
        second = subprocess.run(
            [sys.executable, "-m", "gateway", "run", "--config", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
        assert second.returncode == 1 and "already_running" in second.stderr  # one agent per spool
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=15)
    finally:
        if agent.poll() is None:
            agent.kill()
    assert agent.returncode == 0
    events = [json.loads(line)["event"] for line in stderr.splitlines()]
    for expected in ("agent_started", "clip_spooled", "clip_uploaded", "stopping", "agent_stopped"):
        assert expected in events


def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(site: Site, tmp_path: Path) -> None:
    site.archive.latency_s = 0.03  # a slow link: kills land during requests, PUTs and answers too
    config = write_config(site, tmp_path / "gateway.toml", poll_seconds=0.05, heartbeat_seconds=5, settle_seconds=0)
    command = [sys.executable, "-m", "gateway", "run", "--config", str(config)]
    pause = random.Random(457)  # noqa: S311 - kill times, seeded to repeat
    recorded: set[str] = set()
    for _ in range(8):
        recorded |= {sha256_file(site.record(camera)) for camera in ("cam-a", "cam-b")}
        agent = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
        time.sleep(pause.uniform(0.25, 0.6))  # start-up takes ~0.25 s; kills land while clips are in hand
        agent.kill()
        agent.wait(timeout=10)
    finish_in_peace(site, command, clips=len(recorded), timeout_s=15)
    assert {clip.plaintext_sha256 for clip in site.archive.received()} == recorded
    assert len(site.archive.clips) == len(recorded)
    assert all(clip.puts == 1 for clip in site.archive.clips.values())
    assert files_under(site.watch_dir("cam-a")) == files_under(site.watch_dir("cam-b")) == []
    assert files_under(site.config.spool_dir / "pending") == []
    assert not any(is_temp(path) for path in files_under(site.config.spool_dir))


def test_a_proxy_url_with_credentials_is_parsed_and_its_password_never_shown(site: Site) -> None:
    raw = {
        "api_url": site.config.api_url,
        "token": site.config.token,
        "site_recipient": site.config.site_recipient,
        "spool_dir": str(site.config.spool_dir),
        "quota_bytes": 1000,
        "max_clip_age_days": 7,
        "cameras": [{"camera_id": "cam-a", "watch_dir": "/srv/a"}],
        "proxy_url": "http://gateway%40aiz:s3cr%3At@10.0.0.1:3128",
    }
    config = parse_config(raw)
    assert config.proxy is not None and (config.proxy.host, config.proxy.port) == ("10.0.0.1", 3128)
    assert config.proxy.connect_headers() == {"Proxy-Authorization": "Basic Z2F0ZXdheUBhaXo6czNjcjp0"}
    assert "s3cr" not in repr(config)
    with pytest.raises(ConfigError) as refused:
        parse_config(raw | {"proxy_url": "ftp://gateway:s3cr3t@10.0.0.1:21"})
    assert "s3cr3t" not in str(refused.value)
