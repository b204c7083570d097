"""How long verifying a site's audit trail takes with 7 and 30 days of digests (one every 5 minutes: 288 a day),
on the local moto server: the whole history read one digest at a time (what GET /audit/verify did), the whole
history read 16 at a time, and the API's window (the last day, and its longest, 7 days).

Run: `PYTHONPATH=. .venv/bin/python -m bench.bench_verify [DAYS ...]` (default 7 30). The digests are signed
by the deployment's KMS key and written with the store adapter for past boundaries (a clock passed in), an
event every 4 hours. The baseline is the whole history read one at a time, in the same run. Absolute numbers
are moto's (which copies the whole bucket for each listing); S3 answers a GetObject in tens of milliseconds.
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.deployed_moto import deployed_moto
from chalicelib.domain.audit import Outcome
from chalicelib.domain.audit_chain import (
    DIGEST_INTERVAL,
    SIGNING_ALGORITHM,
    digest_payload,
    interval_start,
    signed_bytes,
)
from chalicelib.domain.audit_verify import verify_site
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window
from chalicelib.services.audit_trail import AuditTrail
from chalicelib.store import digests as digest_store
from chalicelib.store.audit import AuditLog
from chalicelib.store.digests import AuditDigests
from chalicelib.store.signing import AuditSigner
from local.demo import catalog_of, demo_sites

DAYS = (7, 30)
LOCK = timedelta(days=1125)
WRITER = Principal(id="user:bench-writer", role=Role.AUDITOR, sites=frozenset())


def write_history(
    log: AuditLog, digests: AuditDigests, signer: AuditSigner, site: str, days: int, now: datetime
) -> None:
    """`days` of digests up to now, an event recorded (dated then) every few hours."""
    first = interval_start(now) - timedelta(days=days)
    previous: dict[str, Any] | None = None
    at = first
    while at <= interval_start(now):
        if (at - first) % timedelta(hours=4) == timedelta(0):
            log.record(WRITER, "audit.read", site, "bench", Outcome.ALLOWED, at - timedelta(seconds=30))
            heads = log.heads(site)
        payload = digest_payload(site, at, at, heads, previous, at + LOCK, signer.key_id, None)
        document = {
            "payload": payload,
            "signing_algorithm": SIGNING_ALGORITHM,
            "signature": base64.b64encode(signer.sign(signed_bytes(payload))).decode(),
        }
        digests.write(site, at, document, at + LOCK)
        previous, at = payload, at + DIGEST_INTERVAL


def seconds(job: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = job()
    return time.perf_counter() - started, result


def main() -> None:
    rows = []
    with deployed_moto() as (aws, environment):
        catalog = catalog_of(aws, environment)
        log = AuditLog(aws.resource("dynamodb").Table(environment["SAFE_AUDIT_TABLE"]), lambda site: True)
        digests = AuditDigests(aws.client("s3"), environment["SAFE_AUDIT_DIGEST_BUCKET"])
        signer = AuditSigner(aws.client("kms"), environment["SAFE_AUDIT_SIGNING_KEY_ARN"])
        trail = AuditTrail(log, digests, signer, catalog)
        now = datetime.now(UTC)
        for days in [int(arg) for arg in sys.argv[1:]] or DAYS:
            site = f"bench-{days}"
            catalog.put_site(demo_sites()["aizkraukle"].model_copy(update={"site_id": site}))
            written = seconds(lambda: write_history(log, digests, signer, site, days, now))[0]  # noqa: B023
            print(f"{days} days of digests written in {written:.0f} s", file=sys.stderr)
            rows.append((days, measure(trail, log, digests, signer, site, now)))
    print("| days of digests | way of verifying | digests read | seconds | ratio | intact |")
    print("|---:|---|---:|---:|---:|---|")
    for days, measured in rows:
        baseline = measured[0][2]
        for way, checked, taken, intact in measured:
            print(f"| {days} | {way} | {checked} | {taken:.1f} | {taken / baseline:.2f} | {intact} |")


def measure(
    trail: AuditTrail, log: AuditLog, digests: AuditDigests, signer: AuditSigner, site: str, now: datetime
) -> list[tuple[str, int, float, bool]]:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = load_der_public_key(signer.public_key_der)
    measured = []
    for way, parallel in (("whole history, one at a time (before)", 1), ("whole history, 16 at a time", 16)):
        digest_store.PARALLEL_REQUESTS = parallel
        taken, report = seconds(lambda: verify_site(site, log.chain(site), digests.versions(site), key, now))
        measured.append((way, report.digests_checked, taken, report.intact))
    for span in (timedelta(days=1), timedelta(days=7)):
        window = Window(start=now - span, end=now)
        auditor = Principal(id="user:bench-auditor", role=Role.AUDITOR, sites=frozenset({site}))
        taken, result = seconds(lambda: trail.verify(auditor, site, window, now))  # noqa: B023 - used at once
        measured.append(
            (f"GET /audit/verify, the last {span.days} day(s)", result.digests_checked, taken, result.intact)
        )
    return measured


if __name__ == "__main__":
    main()
