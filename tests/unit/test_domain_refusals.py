"""Anonymous refusals are counted per source and interval from the access log, and fold into a bounded
number of audit events however many sources a flood comes from."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from chalicelib.domain.audit_chain import DIGEST_INTERVAL
from chalicelib.domain.refusals import (
    REFUSAL_KINDS,
    TOP_SOURCES,
    RefusalCount,
    count_access_log,
    fold,
    intervals_to_fold,
)
from local.api_server import access_log_format, render
from local.deploy import load_template

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def line(error_type: str, source: str = "203.0.113.5", at: datetime = START, status: str = "401") -> str:
    return render(
        access_log_format(),
        {
            "requestTimeEpoch": str(int(at.timestamp() * 1000)),
            "identity.sourceIp": source,
            "httpMethod": "GET",
            "resourcePath": "/sites",
            "status": status,
            "error.responseType": error_type,
        },
    )


def test_refusals_are_counted_per_source_and_interval():
    later = START + DIGEST_INTERVAL + timedelta(seconds=1)
    lines = [line("UNAUTHORIZED")] * 3 + [line("ACCESS_DENIED", status="403"), line("UNAUTHORIZED", at=later)]

    counts = sorted(count_access_log(lines), key=lambda c: c.interval)

    assert counts == [
        RefusalCount(START, "203.0.113.5", 3, 1),
        RefusalCount(START + DIGEST_INTERVAL, "203.0.113.5", 1, 0),
    ]


def test_answers_that_are_not_anonymous_refusals_are_not_counted():
    lines = [line("", status="200"), line("", status="403"), line("MISSING_AUTHENTICATION_TOKEN"), "not json", "{}"]

    assert count_access_log(lines) == []


def test_a_flood_from_many_sources_folds_into_a_bounded_number_of_events():
    counts = [RefusalCount(START, f"198.51.100.{n}", n + 1, 0) for n in range(200)]

    folded = fold(START, counts)

    assert len(folded) == TOP_SOURCES + 1
    assert folded[0].target == "requests from 198.51.100.199"
    assert folded[-1].target == f"requests from {200 - TOP_SOURCES} other sources"
    assert sum(event.count for event in folded) == sum(c.total for c in counts)


def test_a_fold_takes_only_intervals_closed_for_a_whole_interval():
    intervals = intervals_to_fold(START + 2 * DIGEST_INTERVAL + timedelta(seconds=3))

    assert intervals[-1] == START
    assert all(b - a == DIGEST_INTERVAL for a, b in zip(intervals, intervals[1:], strict=False))


def test_the_template_logs_and_filters_what_the_counter_reads():
    resources = load_template()["Resources"]
    fields = json.loads(resources["RestAPI"]["Properties"]["AccessLogSetting"]["Format"])
    pattern = resources["ApiAccessLogRefusals"]["Properties"]["FilterPattern"]

    assert {"requestTime", "sourceIp", "errorType"} <= set(fields)
    assert all(f'$.errorType = "{kind}"' in pattern for kind in REFUSAL_KINDS)
