"""The README's run command: starts everything, refuses to start twice or on a taken port, and Ctrl-C
stops every process it started."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
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


def test_ctrl_c_stops_every_process_it_started(tmp_path):
    running = run_command(tmp_path, "--api-port", "0", "--aws-port", "0")
    info_file = tmp_path / "run-info.json"
    try:
        deadline = time.monotonic() + 120
        while not info_file.exists():
            assert running.poll() is None, running.stderr.read() if running.stderr else ""
            assert time.monotonic() < deadline, "the archive did not start within 120 s"
            time.sleep(0.2)
        pids = json.loads(info_file.read_text())["pids"]
        assert set(pids) == {"moto", "api", "jobs"}

        running.send_signal(signal.SIGINT)
        running.wait(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()

    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not info_file.exists()
