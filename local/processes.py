"""Child processes that stop with their parent, ports, and readiness polled against a deadline."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from local.private_files import open_private


class PortTaken(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_port_free(port: int, what: str) -> None:
    """Refuse a port something listens on. SO_REUSEADDR, as the servers themselves bind: the TIME_WAIT
    sockets a stopped run leaves for a minute do not stop a server, so they must not stop a restart."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortTaken(
                f"port {port} for the {what} is taken on 127.0.0.1: stop what uses it or pick another"
            ) from exc


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback URLs we built
            return bool(200 <= answer.status < 300)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_until(
    ready: Callable[[], bool], what: str, timeout_s: float, alive: Callable[[], bool] = lambda: True
) -> None:
    """Poll `ready` until it holds; fail at the deadline, or at once if the process behind it died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive():
            raise RuntimeError(f"{what} exited before it was ready")
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready within {timeout_s:.0f} s")


_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl  # looked up here: the child must not import or load


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM it when its parent dies, however the parent died (even SIGKILL)."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


REDACTED = b"[redacted]"
# Secrets that travel in URLs, headers and JSON bodies, as they show in access logs, error messages and dumps.
_SECRET_SHAPES = (
    # A share's recipient link: the token is the whole credential.
    (re.compile(rb"/s/[^\s?#\"'/]+"), b"/s/" + REDACTED),
    # Presigned URLs (SigV4 and V2) and temporary credentials in query strings.
    (
        re.compile(
            rb"(?i)\b(x-amz-signature|x-amz-credential|x-amz-security-token|signature|awsaccesskeyid)=[^&\s\"']*"
        ),
        rb"\1=" + REDACTED,
    ),
    # Gateway tokens and officials' ID tokens in an Authorization header.
    (re.compile(rb"(?i)\bbearer\s+[^\s\"',]+"), b"Bearer " + REDACTED),
    # Passwords and secrets in JSON (a Cognito request body, a dumped configuration).
    (
        re.compile(rb'(?i)("(?:\w*password|secret\w*|token)"\s*:\s*")[^"]*'),
        rb"\1" + REDACTED,
    ),
)


class LogRedactor:
    """Takes secrets out of each line before it reaches a log file: the shapes above, and every secret the
    local stack made itself (`add`), wherever it shows."""

    def __init__(self) -> None:
        self._secrets: tuple[bytes, ...] = ()

    def add(self, *secrets: str) -> None:
        # Replaced whole, never mutated: copier threads read it without a lock.
        self._secrets = (*self._secrets, *(secret.encode() for secret in secrets if secret))

    def __call__(self, line: bytes) -> bytes:
        for shape, replacement in _SECRET_SHAPES:
            line = shape.sub(replacement, line)
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        return line


def _copy_redacted(source: IO[bytes], log: IO[bytes], redact: Callable[[bytes], bytes]) -> None:
    with source, log:
        for line in iter(source.readline, b""):
            log.write(redact(line))
            log.flush()


class ManagedProcess:
    """A child in its own process group, stopped (group and all) by `stop`; what it writes goes through
    `redact` into its log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        cwd: Path,
        redact: Callable[[bytes], bytes] | None = None,
        grace_s: float = 10.0,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self.grace_s = grace_s
        self._process = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - one libc call, no locks, no allocation
        )
        assert self._process.stdout is not None
        self._copier = threading.Thread(
            target=_copy_redacted,
            args=(self._process.stdout, open_private(log_path, append=True), redact or LogRedactor()),
            name=f"{name}-log",
            daemon=True,
        )
        self._copier.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL after the grace period; idempotent."""
        self._signal_group(signal.SIGTERM)
        try:
            self._process.wait(timeout=self.grace_s)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self._process.wait()
        self._copier.join(timeout=5)  # the rest of its output, up to the end of the pipe

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is already gone
            os.killpg(self._process.pid, signum)
