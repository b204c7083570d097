"""The audit trail is append-only and tamper-evident: parallel writers keep one chain, edits are named."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from chalicelib.domain.audit import Outcome
from chalicelib.domain.audit_chain import event_hash
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.audit import AuditLog
from local.demo import DEMO_PASSWORD, Official, create_official, demo_plan
from tests.e2e.conftest import fire

pytestmark = pytest.mark.e2e

WRITER = Principal(id="user:lab-writer", role=Role.OPERATOR, sites=frozenset())


@pytest.fixture(scope="module")
def audit_log(archive, aws):
    return AuditLog(aws.resource("dynamodb").Table(archive.environment["SAFE_AUDIT_TABLE"]))


@pytest.fixture(scope="module")
def lab_auditor(api, aws, archive):
    """An auditor of the lab chains these tests write directly (so the demo sites' chains stay intact)."""
    lab = ("tamper-lab", "parallel-lab", "digest-lab")
    create_official(aws, archive.user_pool_id, Official("auditor-labs", "auditor", lab))
    return api.login("auditor-labs", DEMO_PASSWORD)


def write(audit_log: AuditLog, chain: str, count: int) -> None:
    for number in range(count):
        audit_log.record(
            WRITER, "clip.view", chain, f"clip:{number}", Outcome.ALLOWED, datetime.now(UTC), purpose="lab"
        )


def test_demo_site_chains_verify_intact(official):
    official("operator", "aizkraukle").get("/sites").expect(200)  # some activity first

    result = official("dpo", "aizkraukle").get("/audit/verify", {"site": "aizkraukle"}).expect(200)

    assert result["intact"] is True
    assert result["events"] > 0


def test_parallel_writers_leave_one_unbroken_chain(audit_log, lab_auditor):
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(write, audit_log, "parallel-lab", 25) for _ in range(4)]:
            future.result()

    result = lab_auditor.get("/audit/verify", {"site": "parallel-lab"}).expect(200)

    assert result == result | {"intact": True, "events": 100, "first_broken_seq": None}


def test_an_event_edited_in_dynamodb_is_named(audit_log, lab_auditor, archive, aws):
    write(audit_log, "tamper-lab", 5)
    table = aws.resource("dynamodb").Table(archive.environment["SAFE_AUDIT_TABLE"])
    table.update_item(  # someone with table access rewrites why footage was viewed
        Key={"site": "tamper-lab", "seq": 3}, UpdateExpression="SET purpose = :p", ExpressionAttributeValues={":p": "x"}
    )

    result = lab_auditor.get("/audit/verify", {"site": "tamper-lab"}).expect(200)

    assert result["intact"] is False
    assert result["first_broken_seq"] == 3
    assert "altered" in result["problem"]


def test_a_consistently_rewritten_history_is_caught_by_the_locked_digest(audit_log, lab_auditor, archive, aws):
    from chalicelib.domain.catalog import Site
    from local.demo import catalog_of

    site = next(s for s in demo_plan()["sites"] if s["site_id"] == "aizkraukle") | {"site_id": "digest-lab"}
    catalog_of(aws, archive.environment).put_site(Site.model_validate(site))
    write(audit_log, "digest-lab", 3)
    fire(archive, "write_audit_digests", datetime.now(UTC))
    table = aws.resource("dynamodb").Table(archive.environment["SAFE_AUDIT_TABLE"])
    # Rewrite event 2 and re-hash everything after it, head included: the chain alone looks intact.
    previous = table.get_item(Key={"site": "digest-lab", "seq": 1})["Item"]["hash"]
    for seq in (2, 3):
        item = table.get_item(Key={"site": "digest-lab", "seq": seq})["Item"]
        item["purpose"] = "rewritten"
        item["prev_hash"] = previous
        content = {k: (int(v) if k == "seq" else v) for k, v in item.items() if k != "at_key"}
        item["hash"] = previous = event_hash(content)
        table.put_item(Item=item)
    table.update_item(
        Key={"site": "digest-lab", "seq": 0},
        UpdateExpression="SET head_hash = :h",
        ExpressionAttributeValues={":h": previous},
    )

    result = lab_auditor.get("/audit/verify", {"site": "digest-lab"}).expect(200)

    assert result["intact"] is False
    assert "digest" in result["problem"]
    assert result["digests_checked"] >= 1


def test_verify_is_refused_to_operators_and_audited(official):
    assert official("operator", "birzai").get("/audit/verify", {"site": "birzai"}).status == 403
    events = official("auditor", "birzai").get("/audit", {"site": "birzai"}).expect(200)["events"]
    refused = next(e for e in events if e["action"] == "audit.verify")
    assert (refused["actor"], refused["outcome"]) == ("user:operator-birzai", "refused")


def test_there_is_no_route_that_edits_or_deletes_audit_events(archive):
    from local.api_client import http

    paths = http("GET", f"{archive.api_url}/openapi.json").expect(200)["paths"]
    audit_methods = {method for path, ops in paths.items() if path.startswith("/audit") for method in ops}
    assert audit_methods == {"get"}
