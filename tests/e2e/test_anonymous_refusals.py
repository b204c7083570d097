"""Requests without credentials or with garbage ones are on the record, counted per source and interval,
and none of them appends to an audit chain on its own: a flood of them cannot slow officials' reads."""

from __future__ import annotations

import pytest

from chalicelib.domain.audit_chain import DIGEST_INTERVAL, SEGMENTS
from chalicelib.domain.timeutil import iso
from local.api_client import http
from tests.e2e.audit_lab import an_interval_with_time_to_spare, counted, counter
from tests.e2e.conftest import fire

pytestmark = pytest.mark.e2e


def chain_length(table, site: str) -> int:
    return sum(
        table.query(
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "chain"},
            ExpressionAttributeValues={":c": f"{site}/{segment}"},
            ConsistentRead=True,
        )["Count"]
        for segment in range(SEGMENTS)
    )


def test_anonymous_refusals_are_counted_per_source_not_appended_one_by_one(archive, aws, table, official):
    interval = an_interval_with_time_to_spare()
    before, (without, refused) = chain_length(table, "-"), counter(aws, archive, interval)
    answers = [http("GET", f"{archive.api_url}/sites").status for _ in range(5)]
    answers += [
        http("GET", f"{archive.api_url}/sites", headers={"Authorization": f"Bearer garbage-{n}"}).status
        for n in range(3)
    ]

    without, refused = counted(aws, archive, interval, (without + 5, refused + 3))
    after_refusals = chain_length(table, "-")
    fire(archive, "fold_refusals", interval + 2 * DIGEST_INTERVAL)
    events = official("auditor", "aizkraukle").get("/audit", {"site": "-", "limit": 100}).expect(200)["events"]

    assert answers == [401] * 5 + [403] * 3
    assert after_refusals == before  # the refusals themselves appended nothing
    folded = [e for e in events if e["target"] == "requests from 127.0.0.1" and f"in {iso(interval)}/" in e["reason"]]
    assert len(folded) == 1
    assert folded[0]["count"] == without + refused
    assert (folded[0]["actor"], folded[0]["action"], folded[0]["outcome"]) == ("anonymous", "authenticate", "refused")
    assert f"{without} without credentials, {refused} with credentials refused" in folded[0]["reason"]
