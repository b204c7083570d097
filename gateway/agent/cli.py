"""`python -m gateway run|status --config gateway.toml`."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from gateway.agent.config import AgentConfig, ConfigError, load_config
from gateway.agent.logs import event, setup_logging
from gateway.agent.spool import Spool, SpoolError
from gateway.agent.status import RATE_WINDOW_S, follow, render_status, status_report

log = logging.getLogger("gateway.agent")
LOCK_FILE = "agent.lock"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="Safe Society edge gateway agent")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="take, seal and upload clips until SIGTERM")
    run.add_argument("--config", type=Path, required=True)
    status = commands.add_parser("status", help="print what the spool holds")
    status.add_argument("--config", type=Path, required=True)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--follow", action="store_true", help="then draw a progress bar until the backlog has drained (Ctrl-C stops)"
    )
    status.add_argument(
        "--window",
        type=float,
        default=RATE_WINDOW_S,
        metavar="SECONDS",
        help=f"with --follow: the rate and time left over the last SECONDS (default {RATE_WINDOW_S:.0f})",
    )
    arguments = parser.parse_args(argv)
    try:
        config = load_config(arguments.config)
    except ConfigError as error:
        sys.stderr.write(f"gateway: {error}\n")
        return 2
    if arguments.command == "status":
        return _status(config, as_json=arguments.json, follow_window_s=arguments.window if arguments.follow else None)
    return _run(config, arguments.config)


def _status(config: AgentConfig, *, as_json: bool, follow_window_s: float | None) -> int:
    try:
        # Read-only: `status` never creates, repairs or deletes anything in the spool.
        spool = Spool(config.spool_dir, create=False)
    except SpoolError as error:
        sys.stderr.write(f"gateway: {error}\n")
        return 1

    def read() -> dict[str, Any]:
        return status_report(spool, config.quota_bytes, datetime.now(UTC))

    report = read()
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else render_status(report))
    if follow_window_s is not None:
        with contextlib.suppress(KeyboardInterrupt):
            follow(read, sys.stdout, time.sleep, time.monotonic, window_s=follow_window_s)
    return 0


def _run(config: AgentConfig, config_path: Path) -> int:
    # Imported here: `status` should not pay for PyAV and pyrage.
    from gateway.agent.agent import Agent

    setup_logging(config.log_level)
    if config_path.stat().st_mode & 0o077:
        hint = "chmod 600: it holds the gateway token"
        event(log, logging.WARNING, "config_readable_by_others", path=str(config_path), hint=hint)
    try:
        lock = _single_instance(config.spool_dir)
    except BlockingIOError:
        event(log, logging.ERROR, "already_running", spool_dir=str(config.spool_dir))
        return 1
    with lock:
        agent = Agent(config)

        def stop(signum: int, _frame: FrameType | None) -> None:
            event(log, logging.INFO, "stopping", signal=signal.Signals(signum).name)
            agent.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        agent.run()
    return 0


def _single_instance(spool_dir: Path) -> TextIO:
    """Hold an exclusive lock on the spool for the process's life (the kernel drops it even on SIGKILL).

    Two agents on one spool would each recover, take and delete behind the other's back.
    """
    Spool(spool_dir)  # creates the spool (0700) on the first start
    handle = (spool_dir / LOCK_FILE).open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise
    return handle
