"""Signed digests against moto in process: written once per interval, locked, and checked by verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.audit import Outcome
from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.query import Window
from chalicelib.domain.timeutil import iso
from chalicelib.errors import InvalidRequest
from chalicelib.services.audit_trail import Verification
from chalicelib.store.digests import digest_key
from tests.integration.conftest import TEST_SITE

SITE = TEST_SITE.site_id
DPO = Principal(id="user:dpo", role=Role.DPO, sites=frozenset({SITE}))
START = interval_start(datetime.now(UTC)) - 6 * DIGEST_INTERVAL
DAY = timedelta(days=1)


@pytest.fixture
def trail(deployed):
    wiring.catalog().put_site(TEST_SITE)
    return wiring.audit_log()


def record(trail, at: datetime, count: int = 3) -> None:
    for number in range(count):
        trail.record(DPO, "clip.view", SITE, f"clip:{number}", Outcome.ALLOWED, at, purpose="integration test")


def digest(at: datetime) -> int:
    return wiring.digest_writer().run(at, at + timedelta(seconds=1))


def verify() -> dict:
    now = START + 4 * DIGEST_INTERVAL
    return wiring.audit_trail().verify(DPO, SITE, Window(start=now - DAY, end=now), now).model_dump(mode="json")


def test_a_digest_at_every_interval_verifies_intact(trail):
    record(trail, START + timedelta(seconds=10))
    for step in range(1, 4):
        digest(START + step * DIGEST_INTERVAL)
        record(trail, START + step * DIGEST_INTERVAL + timedelta(seconds=10))

    result = verify()

    assert result["problems"] == []
    assert (result["intact"], result["digests_checked"], result["digests_expected"]) == (True, 3, 3)


def test_a_second_run_in_one_interval_writes_no_second_version(trail):
    record(trail, START + timedelta(seconds=10))
    assert digest(START + DIGEST_INTERVAL) == 1
    assert digest(START + DIGEST_INTERVAL + timedelta(seconds=30)) == 0


def test_digests_are_locked_in_compliance_mode_beyond_the_longest_hold(trail, deployed):
    record(trail, START + timedelta(seconds=10))
    digest(START + DIGEST_INTERVAL)

    (version,) = wiring.audit_digests().versions(SITE)

    assert version.lock_mode == "COMPLIANCE"
    lock = timedelta(days=TEST_SITE.max_retention_days + TEST_SITE.max_hold_days)
    assert version.retain_until >= START + DIGEST_INTERVAL + lock


def test_a_job_run_for_a_later_moment_records_when_it_ran_and_the_next_digest_still_verifies(trail):
    """A job fired for tomorrow (as expiry tests do) decides by tomorrow but is recorded now: dated tomorrow, the
    event would sit after the digest that covers it, which reads as forged."""
    ran_at = datetime.now(UTC).replace(microsecond=0)  # the trail keeps milliseconds
    event = trail.record(DPO, "clip.expire", SITE, "clip:1", Outcome.ALLOWED, ran_at + timedelta(days=1))
    assert ran_at <= event.at <= datetime.now(UTC)

    digest_at = interval_start(datetime.now(UTC)) + DIGEST_INTERVAL  # the next interval's digest, which covers it
    digest(digest_at)
    now = digest_at + timedelta(seconds=2)
    result = wiring.audit_trail().verify(DPO, SITE, Window(start=now - DAY, end=now), now)
    assert (result.intact, result.problems) == (True, [])


def test_verify_of_a_window_reads_only_its_digests_yet_catches_a_delete_marker_inside_it(trail, deployed):
    record(trail, START + timedelta(seconds=10))
    for step in range(1, 6):
        digest(START + step * DIGEST_INTERVAL)
        record(trail, START + step * DIGEST_INTERVAL + timedelta(seconds=10))
    s3, bucket = boto3.client("s3"), deployed.environment["SAFE_AUDIT_DIGEST_BUCKET"]
    now = START + 6 * DIGEST_INTERVAL
    window = Window(start=START + 3 * DIGEST_INTERVAL, end=START + 5 * DIGEST_INTERVAL)

    def verify_window() -> Verification:
        return wiring.audit_trail().verify(DPO, SITE, window, now)

    s3.delete_object(Bucket=bucket, Key=digest_key(SITE, START + DIGEST_INTERVAL))  # before the window: not read
    before = verify_window()
    s3.delete_object(Bucket=bucket, Key=digest_key(SITE, START + 4 * DIGEST_INTERVAL))
    after = verify_window()

    assert (before.intact, before.problems, before.digests_checked, before.digests_expected) == (True, [], 3, 3)
    assert before.checked_from == iso(window.start)
    assert before.events < 3 * 6  # from the heads the digest of boundary 3 signed
    assert after.problems == [f"digest {digest_key(SITE, START + 4 * DIGEST_INTERVAL)} is hidden by 1 delete marker(s)"]


def test_verify_spans_at_most_a_week(trail):
    now = datetime.now(UTC)

    with pytest.raises(InvalidRequest, match="at most 7 days"):
        wiring.audit_trail().verify(DPO, SITE, Window(start=now - timedelta(days=8), end=now), now)
