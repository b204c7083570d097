"""The benches' own embedded AWS: a moto server on a free local port with the infra/ template deployed onto it,
stopped when the block ends."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.aws import AwsEndpoint
from local.deploy import deploy
from local.processes import ManagedProcess, free_port, http_ok, wait_until
from local.stack import ROOT


@contextmanager
def deployed_moto() -> Iterator[tuple[AwsEndpoint, dict[str, str]]]:
    """(the endpoint, the functions' environment the deployment gives)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        moto = ManagedProcess(
            "moto",
            [sys.executable, "-m", "local.moto_server", "--port", str(port)],
            {"PATH": "/usr/bin"},
            Path(work) / "moto.log",
            ROOT,
        )
        try:
            wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/moto-api/"), "moto", 30, moto.alive)
            aws = AwsEndpoint(f"http://127.0.0.1:{port}")
            yield aws, deploy(aws, "bench", "bench").environment
        finally:
            moto.stop()
