"""scripts/apt-get-waiting: apt-get that waits, with a deadline, while another package manager holds its lock."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from local.stack import ROOT

HELD = "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)"


def fake_apt_get(bin_dir: Path, busy_runs: int, other_error: str = "") -> Path:
    """An apt-get that finds the lock held for its first `busy_runs` runs; it logs each run's arguments."""
    runs = bin_dir / "runs"
    bin_dir.mkdir()
    script = bin_dir / "apt-get"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {runs}\n'
        f'if [ "$(wc -l < {runs})" -le {busy_runs} ]; then echo "{HELD}" >&2; exit 100; fi\n'
        + (f'echo "{other_error}" >&2; exit 100\n' if other_error else "exit 0\n")
    )
    script.chmod(0o755)
    return runs


def run(bin_dir: Path, wait_s: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "apt-get-waiting"), *arguments],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "APT_LOCK_WAIT_S": str(wait_s)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_held_lock_is_waited_for_and_named_with_its_holder(tmp_path):
    runs = fake_apt_get(tmp_path / "bin", busy_runs=2)

    result = run(tmp_path / "bin", 60, "update", "-qq")

    assert result.returncode == 0, result.stderr
    assert runs.read_text().splitlines() == ["update -qq"] * 3
    waiting = [line for line in result.stderr.splitlines() if "waiting" in line]
    assert waiting == [
        "apt-get-waiting: waiting up to 60 s for /var/lib/dpkg/lock-frontend, held by process 4242 (unattended-upgr)"
    ]


def test_it_gives_up_at_the_deadline_with_apt_s_own_error(tmp_path):
    fake_apt_get(tmp_path / "bin", busy_runs=1_000)

    result = run(tmp_path / "bin", 2, "install", "-y", "ffmpeg")

    assert result.returncode == 100
    assert HELD in result.stderr
    assert "gave up after 2 s" in result.stderr


def test_other_failures_are_not_retried(tmp_path):
    runs = fake_apt_get(tmp_path / "bin", busy_runs=0, other_error="E: Unable to locate package ffmpg")

    result = run(tmp_path / "bin", 60, "install", "-y", "ffmpg")

    assert result.returncode == 100
    assert "Unable to locate package ffmpg" in result.stderr
    assert len(runs.read_text().splitlines()) == 1
