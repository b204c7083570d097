"""Signed digests against moto in process: written once per interval, locked, and checked by verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import wiring
from chalicelib.domain.audit import Outcome
from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.domain.principal import Principal, Role
from tests.integration.conftest import TEST_SITE

SITE = TEST_SITE.site_id
DPO = Principal(id="user:dpo", role=Role.DPO, sites=frozenset({SITE}))
START = interval_start(datetime.now(UTC)) - 6 * DIGEST_INTERVAL


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
    return wiring.audit_trail().verify(DPO, SITE, START + 4 * DIGEST_INTERVAL).model_dump(mode="json")


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

    digest(interval_start(datetime.now(UTC)) + DIGEST_INTERVAL)
    result = wiring.audit_trail().verify(DPO, SITE, datetime.now(UTC) + 2 * DIGEST_INTERVAL)
    assert (result.intact, result.problems) == (True, [])
