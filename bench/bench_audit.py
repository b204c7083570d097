"""Audit writes per second with the hash chain, 4 parallel writers on one site's chain, on the local moto server.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_audit.py`. Baseline, measured in the same run against the
same table: plain unconditional put_item of events of the same size (no chain, no transaction). The ratio is
what tamper evidence costs; absolute numbers are moto's, not DynamoDB's.
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

from chalicelib.domain.audit import Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.audit import AuditLog
from local.aws import AwsEndpoint
from local.deploy import deploy
from local.processes import ManagedProcess, free_port, http_ok, wait_until
from local.stack import ROOT

WRITERS = 4
EVENTS_PER_WRITER = 50
WRITER = Principal(id="user:bench", role=Role.OPERATOR, sites=frozenset({"bench"}))


def chained(log: AuditLog, chain: str) -> None:
    for number in range(EVENTS_PER_WRITER):
        log.record(WRITER, "clip.view", chain, f"clip:{number}", Outcome.ALLOWED, datetime.now(UTC), purpose="bench")


def plain(table: object, chain: str, writer: int) -> None:
    for number in range(EVENTS_PER_WRITER):
        table.put_item(  # type: ignore[attr-defined]
            Item={
                "site": chain,
                "seq": writer * 10_000 + number + 1,
                "action": "clip.view",
                "purpose": "bench",
                "hash": "0" * 64,
                "prev_hash": "0" * 64,
                "at_key": f"{datetime.now(UTC).isoformat()}#{number}",
            }
        )


def timed(work: list[Callable[[], None]]) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for future in [pool.submit(job) for job in work]:
            future.result()
    return WRITERS * EVENTS_PER_WRITER / (time.perf_counter() - started)


def main() -> None:
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
            table = aws.resource("dynamodb").Table(deploy(aws, "bench", "bench").environment["SAFE_AUDIT_TABLE"])
            log = AuditLog(table)
            baseline = timed([functools.partial(plain, table, "plain", writer) for writer in range(WRITERS)])
            chain_rate = timed([functools.partial(chained, log, "chained") for _ in range(WRITERS)])
            intact = log.head("chained").seq == WRITERS * EVENTS_PER_WRITER
        finally:
            moto.stop()
    print(f"| writes ({WRITERS} writers × {EVENTS_PER_WRITER}) | events/s | ratio |")
    print("|---|---:|---:|")
    print(f"| plain put_item (baseline) | {baseline:.0f} | 1.00 |")
    print(f"| hash-chained append (conditional transaction) | {chain_rate:.0f} | {chain_rate / baseline:.2f} |")
    print(f"chain intact after parallel writes: {intact}")


if __name__ == "__main__":
    main()
