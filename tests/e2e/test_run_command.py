"""The README's run command refuses to start twice or on a taken port (that Ctrl-C stops every process it
started is checked at each stop of test_restart.py's runs)."""

from __future__ import annotations

import fcntl
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
