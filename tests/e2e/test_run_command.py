"""The README's run command refuses to start twice or on a taken port (that Ctrl-C stops every process it
started is checked at each stop of test_restart.py's runs); a job fired by hand finds the running archive."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from local.stack import ROOT

pytestmark = pytest.mark.e2e


def run_command(run_dir: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "local", "run", "--run-dir", str(run_dir), "--no-simulator", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_start_is_refused_with_a_clear_message(tmp_path):
    with (tmp_path / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the first run holds this

        second = run_command(tmp_path)
        _, stderr = second.communicate(timeout=60)

    assert second.returncode == 1
    assert "already running" in stderr


def test_a_taken_port_is_refused_with_a_clear_message(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        refused = run_command(tmp_path, "--api-port", str(port), "--aws-port", "0")
        _, stderr = refused.communicate(timeout=60)

    assert refused.returncode == 1
    assert f"port {port} for the API is taken" in stderr


def fire_by_hand(run_info: Path) -> subprocess.CompletedProcess[str]:
    """`python -m local.jobs fire notify` as the README has it typed into a fresh shell: no SAFE_* or AWS_*."""
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "local.jobs", "fire", "notify", "--run-info", str(run_info)],
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_job_fired_by_hand_takes_the_functions_environment_from_the_run_info_file(archive, tmp_path):
    run_info = tmp_path / "run-info.json"
    run_info.write_text(json.dumps(archive.as_json(run_info)))

    fired = fire_by_hand(run_info)

    assert fired.returncode == 0, fired.stderr
    assert json.loads(fired.stdout.strip().splitlines()[-1])["failed_sites"] == 0


def test_a_job_fired_by_hand_with_no_archive_running_says_so(tmp_path):
    fired = fire_by_hand(tmp_path / "run-info.json")

    assert fired.returncode == 1
    assert "no local archive running from" in fired.stderr
    assert "start it with scripts/run-local" in fired.stderr
    assert "Traceback" not in fired.stderr
