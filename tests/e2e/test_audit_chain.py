"""The audit trail is append-only and tamper-evident, even for someone who can write the table and the digest
bucket: parallel writers keep whole chains, edits are named, and rewritten, hidden or cut history is caught."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from chalicelib.domain.audit_chain import DIGEST_INTERVAL
from chalicelib.domain.catalog import SiteConfiguration
from chalicelib.domain.timeutil import iso
from chalicelib.store.digests import boundary_of
from local.demo import DEMO_PASSWORD, Official, create_official
from tests.e2e.audit_lab import (
    busiest_segment,
    digest_keys,
    digest_now,
    edit_purpose,
    events_of,
    rehash_from,
)
from tests.e2e.conftest import LABS, fire

pytestmark = pytest.mark.e2e


def test_demo_site_chains_verify_intact(official, archive):
    official("operator", "aizkraukle").get("/sites").expect(200)  # some activity first
    digest_now(archive)

    result = official("dpo", "aizkraukle").get("/audit/verify", {"site": "aizkraukle"}).expect(200)

    assert (result["intact"], result["problems"]) == (True, [])
    assert result["events"] > 0
    assert result["digests_checked"] >= 1


def test_parallel_writers_leave_unbroken_chains(lab, lab_auditor, archive):
    with ThreadPoolExecutor(max_workers=4) as pool:
        sites = [future.result() for future in [pool.submit(lab, 25) for _ in range(4)]]
    digest_now(archive)

    result = lab_auditor.get("/audit/verify", {"site": sites[0]}).expect(200)

    assert result == result | {"intact": True, "events": 100, "first_broken_seq": None}


def test_an_event_edited_in_dynamodb_is_named(lab, lab_auditor, table):
    site = lab(5)
    victim = events_of(table, site)[0]
    edit_purpose(table, victim, "x")  # someone with table access rewrites why footage was viewed

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)

    assert result["intact"] is False
    assert (result["first_broken_segment"], result["first_broken_seq"]) == (victim["segment"], victim["seq"])
    assert "altered" in result["problem"]


def test_a_rewritten_history_is_caught_though_its_digests_are_hidden_by_delete_markers(
    lab, lab_auditor, table, aws, archive
):
    site = lab(6)
    digest_now(archive)
    rehash_from(table, site, busiest_segment(table, site), 1, "rewritten")
    for key in digest_keys(aws, archive, site):  # plain DeleteObject: Object Lock allows a delete marker
        aws.client("s3").delete_object(Bucket=archive.environment["SAFE_AUDIT_DIGEST_BUCKET"], Key=key)

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)

    assert result["intact"] is False
    assert result["digests_checked"] >= 1
    assert any("hidden by 1 delete marker" in problem for problem in result["problems"])
    assert any("differs from the digest" in problem for problem in result["problems"])


def test_a_digest_written_over_with_the_rewritten_heads_is_caught(lab, lab_auditor, table, aws, archive):
    site = lab(6)
    digest_now(archive)
    segment = busiest_segment(table, site)
    rehash_from(table, site, segment, 1, "rewritten")
    s3, bucket = aws.client("s3"), archive.environment["SAFE_AUDIT_DIGEST_BUCKET"]
    (key,) = digest_keys(aws, archive, site)
    document = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    rewritten = max((e for e in events_of(table, site) if e["segment"] == segment), key=lambda e: e["seq"])
    for head in document["payload"]["segments"]:
        if head["segment"] == segment:
            head["hash"] = rewritten["hash"]
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(document).encode())  # a new version over the digest

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)

    assert result["intact"] is False
    assert f"digest {key} has 2 versions: it was written over" in result["problems"]
    assert any("does not carry a valid signature" in problem for problem in result["problems"])


def test_newest_events_removed_after_a_digest_are_caught(lab, lab_auditor, table, archive):
    site = lab(12)
    boundary = digest_now(archive)
    segment = busiest_segment(table, site)
    newest = max((e for e in events_of(table, site) if e["segment"] == segment), key=lambda e: e["seq"])
    table.delete_item(Key={"chain": newest["chain"], "seq": newest["seq"]})  # no head item to rewind any more

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)
    fire(archive, "write_audit_digests", boundary + DIGEST_INTERVAL)
    next_digest = lab_auditor.get("/audit/verify", {"site": site}).expect(200)

    assert result["intact"] is False
    assert f"names event {segment}/{newest['seq']}, which the trail no longer has" in result["problem"]
    # The next digest's own check finds it too (whatever the verify call's own event did to that segment since).
    assert any(f"found: segment {segment}" in problem for problem in next_digest["problems"])


def test_an_interval_without_its_digest_is_a_break(lab, lab_auditor, archive):
    site = lab(3)
    boundary = digest_now(archive)
    fire(archive, "write_audit_digests", boundary + 2 * DIGEST_INTERVAL)  # the one between is never written

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)

    missing = (boundary + DIGEST_INTERVAL).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert f"the digest of {missing} is missing" in result["problems"]


@pytest.fixture(scope="module")
def lab_admin(api, aws, archive):
    create_official(aws, archive.user_pool_id, Official("admin-labs", "admin", LABS))
    return api.login("admin-labs", DEMO_PASSWORD)


def raise_hold(admin, site: str, days: int) -> timedelta:
    """An admin lengthens the site's longest hold through the API: the lock its digests now need."""
    stored = admin.get(f"/sites/{site}/configuration").expect(200)
    configuration = {name: stored[name] for name in SiteConfiguration.model_fields} | {
        "max_hold_days": stored["max_hold_days"] + days
    }
    admin.request("PUT", f"/sites/{site}/configuration", configuration).expect(200)
    return timedelta(days=configuration["max_retention_days"] + configuration["max_hold_days"])


def digest_locks(aws, archive, site: str) -> dict[str, tuple]:
    s3, bucket = aws.client("s3"), archive.environment["SAFE_AUDIT_DIGEST_BUCKET"]
    listed = s3.list_object_versions(Bucket=bucket, Prefix=f"digests/{site}/")["Versions"]
    return {
        v["Key"]: (v["VersionId"], s3.head_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"]))
        for v in listed
    }


def test_raising_a_sites_longest_hold_lengthens_its_digests_locks_and_verify_stays_intact(
    lab, lab_auditor, lab_admin, aws, archive
):
    site = lab(4)
    digest_now(archive)

    lock = raise_hold(lab_admin, site, 365)

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)
    assert (result["intact"], result["problems"], result["digests_checked"] >= 1) == (True, [], True)
    locks = digest_locks(aws, archive, site)
    assert locks
    assert all(head["ObjectLockRetainUntilDate"] >= boundary_of(key) + lock for key, (_, head) in locks.items())


def test_a_digest_lock_shortened_after_the_limits_rose_is_caught(lab, lab_auditor, lab_admin, aws, archive):
    site = lab(4)
    digest_now(archive)
    raise_hold(lab_admin, site, 365)
    key, (version_id, head) = next(iter(digest_locks(aws, archive, site).items()))
    stated = json.loads(
        aws.client("s3").get_object(Bucket=archive.environment["SAFE_AUDIT_DIGEST_BUCKET"], Key=key)["Body"].read()
    )["payload"]["retain_until"]
    aws.client("s3").put_object_retention(  # moto allows it; S3 refuses to shorten COMPLIANCE retention
        Bucket=archive.environment["SAFE_AUDIT_DIGEST_BUCKET"],
        Key=key,
        VersionId=version_id,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": stated},
    )

    result = lab_auditor.get("/audit/verify", {"site": site}).expect(200)

    assert result["intact"] is False
    assert f"digest {key} is locked until {stated}, shorter than the longest hold" in result["problems"]


def test_verify_checks_the_window_asked_for_and_refuses_one_longer_than_a_week(lab, lab_auditor, archive):
    site = lab(3)
    boundary = digest_now(archive)
    asked = {"site": site, "from": iso(boundary - DIGEST_INTERVAL), "to": iso(boundary)}

    result = lab_auditor.get("/audit/verify", asked).expect(200)
    too_long = lab_auditor.get("/audit/verify", asked | {"from": iso(boundary - timedelta(days=8))})

    assert (result["intact"], result["checked_from"], result["digests_expected"]) == (True, asked["from"], 1)
    assert (too_long.status, too_long.body["error"]) == (400, "invalid_request")
    assert "at most 7 days" in too_long.body["message"]


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
