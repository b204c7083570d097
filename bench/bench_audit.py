"""Audit writes per second on one site's trail, 1, 4 and 16 parallel writers, on the local moto server.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_audit.py`. Baseline, measured in the same run against the
same table: plain unconditional put_item of events of the same size (no chain, no condition). The ratio is
what tamper evidence costs at that concurrency: the hash-chained append reads a segment's last event and puts
the next conditionally, moving to another segment when it loses a race. Absolute numbers are moto's, not
DynamoDB's.
"""

from __future__ import annotations

import functools
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.domain.audit import Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.audit import AuditLog
from local.aws import AwsEndpoint
from local.deploy import deploy
from local.processes import ManagedProcess, free_port, http_ok, wait_until
from local.stack import ROOT

WRITER_COUNTS = (1, 4, 16)
EVENTS = 192  # per measurement, shared among the writers
WRITER = Principal(id="user:bench", role=Role.OPERATOR, sites=frozenset({"bench"}))


def chained(log: AuditLog, site: str, _writer: int, count: int) -> None:
    """One writer's appends (each writer thread keeps to its own segment, as each function instance does)."""
    for number in range(count):
        log.record(WRITER, "clip.view", site, f"clip:{number}", Outcome.ALLOWED, datetime.now(UTC), purpose="bench")


def plain(table: Any, site: str, writer: int, count: int) -> None:
    for number in range(count):
        table.put_item(
            Item={
                "chain": f"{site}/{writer}",
                "seq": number + 1,
                "site": site,
                "action": "clip.view",
                "purpose": "bench",
                "hash": "0" * 64,
                "prev_hash": "0" * 64,
                "at_key": f"{datetime.now(UTC).isoformat()}#{number}",
            }
        )


def rate(writers: int, job: Callable[[int, int], None]) -> float:
    """Events per second with `writers` threads sharing EVENTS."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        for future in [pool.submit(job, writer, EVENTS // writers) for writer in range(writers)]:
            future.result()
    return EVENTS / (time.perf_counter() - started)


def main() -> None:
    port = free_port()
    rows = []
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
            table = aws.resource("dynamodb").Table(deploy(aws, "bench", "bench").environment["SAFE_AUDIT_TABLE"])
            log = AuditLog(table, lambda site: True)
            for writers in WRITER_COUNTS:
                site = f"bench-{writers}"
                baseline = rate(writers, functools.partial(plain, table, f"plain-{site}"))
                chain_rate = rate(writers, functools.partial(chained, log, site))
                intact = sum(head.seq for head in log.heads(site)) == EVENTS // writers * writers
                rows.append((writers, baseline, chain_rate, intact))
        finally:
            moto.stop()
    print("| writers | plain put_item (baseline), events/s | hash-chained append, events/s | ratio | chain whole |")
    print("|---:|---:|---:|---:|---|")
    for writers, baseline, chain_rate, intact in rows:
        print(f"| {writers} | {baseline:.0f} | {chain_rate:.0f} | {chain_rate / baseline:.2f} | {intact} |")


if __name__ == "__main__":
    main()
