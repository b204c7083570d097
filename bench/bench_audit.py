"""Audit writes per second on one site's trail, 1, 4 and 16 parallel writers, on the local moto server;
then 4 officials' audited reads during a flood of 16 clients sending garbage tokens.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_audit.py`. Baseline, measured in the same run against the
same table: plain unconditional put_item of events of the same size (no chain, no condition). The ratio is
what tamper evidence costs at that concurrency: the hash-chained append puts the next event of the writer's
segment conditionally, reading the head again and moving to another segment when it loses a race. In the
flood, each refused request is either appended to the site-less chain (what the authorizer did before) or
refused without a write and logged, the log counted per source in batches (what happens now).
Absolute numbers are moto's, not DynamoDB's.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.deployed_moto import deployed_moto
from chalicelib.domain.audit import NO_SITE, Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.refusals import count_access_log
from chalicelib.store.audit import AuditLog
from chalicelib.store.refusals import RefusalCounts

WRITER_COUNTS = (1, 4, 16)
OFFICIALS = 4
FLOODERS = 16
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


def refused_appended(log: AuditLog, stop: threading.Event) -> None:
    while not stop.is_set():
        log.record(None, "authenticate", NO_SITE, "GET /sites", Outcome.REFUSED, datetime.now(UTC), reason="bench")


def refused_logged(log_lines: list[str], source: int, stop: threading.Event) -> None:
    """The authorizer refuses without a write; API Gateway logs the refusal."""
    line = json.dumps(
        {"requestTime": "0", "sourceIp": f"198.51.100.{source}", "status": "403", "errorType": "ACCESS_DENIED"}
    )
    while not stop.is_set():
        log_lines.append(line.replace('"0"', f'"{int(time.time() * 1000)}"'))
        time.sleep(0.001)  # a client's next request


def ship(log_lines: list[str], counts: RefusalCounts, stop: threading.Event) -> None:
    """The access log's subscription: each batch counted per source (local/jobs.py ships every 0.5 s)."""
    while not stop.wait(0.5):
        batch, log_lines[:] = log_lines[:], []
        counts.add(count_access_log(batch))


def during_flood(flood: Callable[[threading.Event], None], officials: Callable[[int, int], None]) -> float:
    """The officials' appends per second while FLOODERS threads run `flood`."""
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=FLOODERS) as pool:
        flooding = [pool.submit(flood, stop) for _ in range(FLOODERS)]
        try:
            return rate(OFFICIALS, officials)
        finally:
            stop.set()
            for future in flooding:
                future.result()


def rate(writers: int, job: Callable[[int, int], None]) -> float:
    """Events per second with `writers` threads sharing EVENTS."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        for future in [pool.submit(job, writer, EVENTS // writers) for writer in range(writers)]:
            future.result()
    return EVENTS / (time.perf_counter() - started)


def main() -> None:
    rows = []
    with deployed_moto() as (aws, environment):
        table = aws.resource("dynamodb").Table(environment["SAFE_AUDIT_TABLE"])
        counts = RefusalCounts(aws.resource("dynamodb").Table(environment["SAFE_AUDIT_REFUSALS_TABLE"]))
        log = AuditLog(table, lambda site: True)
        for writers in WRITER_COUNTS:
            site = f"bench-{writers}"
            baseline = rate(writers, functools.partial(plain, table, f"plain-{site}"))
            chain_rate = rate(writers, functools.partial(chained, log, site))
            intact = sum(head.seq for head in log.heads(site)) == EVENTS // writers * writers
            rows.append((writers, baseline, chain_rate, intact))
        quiet = rate(OFFICIALS, functools.partial(chained, log, "flood-quiet"))
        appended = during_flood(functools.partial(refused_appended, log), functools.partial(chained, log, "flood-a"))
        log_lines: list[str] = []
        sources = iter(range(FLOODERS))
        shipping = threading.Event()
        shipper = threading.Thread(target=ship, args=(log_lines, counts, shipping))
        shipper.start()
        try:
            counted = during_flood(
                lambda stop: refused_logged(log_lines, next(sources), stop),
                functools.partial(chained, log, "flood-c"),
            )
        finally:
            shipping.set()
            shipper.join()
    print("| writers | plain put_item (baseline), events/s | hash-chained append, events/s | ratio | chain whole |")
    print("|---:|---:|---:|---:|---|")
    for writers, baseline, chain_rate, intact in rows:
        print(f"| {writers} | {baseline:.0f} | {chain_rate:.0f} | {chain_rate / baseline:.2f} | {intact} |")
    print()
    print(f"| {OFFICIALS} officials' audited reads, {FLOODERS} clients sending garbage tokens | events/s | ratio |")
    print("|---|---:|---:|")
    print(f"| no flood (baseline) | {quiet:.0f} | 1.00 |")
    print(f"| each refusal appended to the site-less chain (before) | {appended:.0f} | {appended / quiet:.2f} |")
    print(f"| refused without a write, counted per source from the log (now) | {counted:.0f} | {counted / quiet:.2f} |")


if __name__ == "__main__":
    main()
