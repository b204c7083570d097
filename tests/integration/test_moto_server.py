"""The local moto server (local/moto_server.py) as a process: transactions stay atomic, memory stays flat."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.audit import AuditFilter, Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.audit import AuditLog
from local.aws import AwsEndpoint
from local.deploy import load_template
from local.processes import ManagedProcess, free_port, http_ok, wait_until
from local.stack import ROOT

OPERATOR = Principal(id="user:operator", role=Role.OPERATOR, sites=frozenset({"aizkraukle"}))


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AwsEndpoint, ManagedProcess]]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server = ManagedProcess(
        "moto", [sys.executable, "-m", "local.moto_server", "--port", str(port)], {"PATH": "/usr/bin"}, log, ROOT
    )
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/moto-api/"), "moto server", 30, server.alive)
        yield AwsEndpoint(f"http://127.0.0.1:{port}"), server
    finally:
        server.stop()


def audit_table(aws: AwsEndpoint, name: str) -> Any:
    """The template's audit table (keys and indexes as infra/template.yaml has them)."""
    properties = load_template()["Resources"]["AuditTable"]["Properties"]
    keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode")
    aws.client("dynamodb").create_table(TableName=name, **{key: properties[key] for key in keys if key in properties})
    return aws.resource("dynamodb").Table(name)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def use(log: AuditLog, appends: int, reads: int) -> None:
    """Officials' audited work: events appended, and the trail read a page at a time (as `GET /audit`)."""
    for number in range(appends):
        log.record(OPERATOR, "clip.view", "aizkraukle", f"clip:{number}", Outcome.ALLOWED, datetime.now(UTC))
    window = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1))
    for _ in range(reads):
        log.events("aizkraukle", *window, 50, None, AuditFilter())


def test_memory_stays_flat_while_the_audit_trail_is_appended_to_and_read(moto):
    aws, server = moto
    log = AuditLog(audit_table(aws, "audit-memory"), lambda site: True)
    use(log, appends=100, reads=50)
    before = rss_mb(server.pid)

    # Unpatched moto 5.2.5 keeps a copy of every item each query returned (and each item an update replaced).
    use(log, appends=100, reads=400)

    grown = rss_mb(server.pid) - before
    assert grown < 10, f"moto grew {grown:.0f} MB for 100 audit events and 400 pages read"


def plain_table(aws: AwsEndpoint, name: str) -> Any:
    aws.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "site", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "site", "KeyType": "HASH"}, {"AttributeName": "seq", "KeyType": "RANGE"}],
    )
    return aws.resource("dynamodb").Table(name)


def test_a_cancelled_transaction_leaves_every_item_it_named_as_it_was(moto):
    aws, _ = moto
    table = plain_table(aws, "audit-atomic")
    table.put_item(Item={"site": "s", "seq": 0, "head_seq": 1})
    table.put_item(Item={"site": "s", "seq": 1, "note": "first"})

    with pytest.raises(ClientError, match="TransactionCanceledException"):
        aws.client("dynamodb").transact_write_items(
            TransactItems=[
                # Applied by moto before the last condition fails: all three must be undone.
                {
                    "Update": {
                        "TableName": "audit-atomic",
                        "Key": {"site": {"S": "s"}, "seq": {"N": "0"}},
                        "UpdateExpression": "SET head_seq = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": "audit-atomic", "Item": {"site": {"S": "s"}, "seq": {"N": "2"}}}},
                {"Put": {"TableName": "audit-atomic", "Item": {"site": {"S": "s"}, "seq": {"N": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "audit-atomic",
                        "Key": {"site": {"S": "s"}, "seq": {"N": "9"}},
                        "ConditionExpression": "attribute_exists(seq)",
                    }
                },
            ]
        )

    items = table.query(KeyConditionExpression="site = :s", ExpressionAttributeValues={":s": "s"})["Items"]
    assert items == [{"site": "s", "seq": 0, "head_seq": 1}, {"site": "s", "seq": 1, "note": "first"}]


EVERY_TYPE = {
    "site": {"S": "s"},
    "seq": {"N": "1"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\x01 bytes"},
    "empty": {"NULL": True},
    "flag": {"BOOL": False},
    "list": {"L": [{"S": "x"}, {"N": "2"}, {"B": b"\xff"}]},
    "map": {"M": {"ss": {"SS": ["p", "q"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x01", b"\x02"]}}},
}


def unordered_sets(value: Any) -> Any:
    """An item with each of its sets sorted: DynamoDB's sets have no order."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in {"SS", "NS", "BS"} else unordered_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unordered_sets(v) for v in value]
    return value


def test_reads_answer_items_of_every_attribute_type_as_written(moto):
    aws, _ = moto
    plain_table(aws, "every-type")
    dynamodb = aws.client("dynamodb")
    for seq in ("1", "2", "3"):
        dynamodb.put_item(TableName="every-type", Item=EVERY_TYPE | {"seq": {"N": seq}})
    key = {"site": {"S": "s"}, "seq": {"N": "1"}}
    by_site = {"KeyConditionExpression": "site = :s", "ExpressionAttributeValues": {":s": {"S": "s"}}}

    got = dynamodb.get_item(TableName="every-type", Key=key)
    first_page = dynamodb.query(TableName="every-type", Limit=2, **by_site)
    rest = dynamodb.query(TableName="every-type", ExclusiveStartKey=first_page["LastEvaluatedKey"], **by_site)
    projected = dynamodb.query(
        TableName="every-type", ProjectionExpression="seq, #m.ss", **by_site, ExpressionAttributeNames={"#m": "map"}
    )
    scanned = dynamodb.scan(TableName="every-type")
    batch = dynamodb.batch_get_item(RequestItems={"every-type": {"Keys": [key]}})

    assert unordered_sets(got["Item"]) == unordered_sets(EVERY_TYPE)
    assert dynamodb.get_item(TableName="every-type", Key={"site": {"S": "s"}, "seq": {"N": "9"}}).get("Item") is None
    assert [item["seq"]["N"] for item in first_page["Items"] + rest["Items"]] == ["1", "2", "3"]
    assert (first_page["Count"], rest["Count"], "LastEvaluatedKey" in rest) == (2, 1, False)
    assert unordered_sets(projected["Items"][0]) == {"seq": {"N": "1"}, "map": {"M": {"ss": {"SS": ["p", "q"]}}}}
    assert scanned["Count"] == scanned["ScannedCount"] == 3 and scanned["Items"][0]["b"] == EVERY_TYPE["b"]
    assert unordered_sets(batch["Responses"]["every-type"]) == [unordered_sets(EVERY_TYPE)]


def test_a_presigned_put_of_other_bytes_than_its_signed_sha256_is_refused_and_a_stored_one_vouched_for(moto):
    aws, _ = moto
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="checksums", CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    clip = os.urandom(4096)
    checksum = base64.b64encode(hashlib.sha256(clip).digest()).decode()
    params = {"Bucket": "checksums", "Key": "clip", "ContentLength": len(clip), "ChecksumSHA256": checksum}
    url = s3.generate_presigned_url("put_object", Params=params | {"ContentType": "video/mp4"}, ExpiresIn=300)
    # An explicit Content-Type, as the archive's tickets have: urllib would label the body a form.
    headers = {"x-amz-checksum-sha256": checksum, "Content-Type": "video/mp4"}

    def put(body: bytes) -> tuple[int, str | None, bytes]:
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)  # noqa: S310 - just signed
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, answer.headers.get("x-amz-checksum-sha256"), answer.read()
        except urllib.error.HTTPError as refusal:
            return refusal.code, refusal.headers.get("x-amz-checksum-sha256"), refusal.read()

    status, _, error = put(clip[:-1] + bytes([clip[-1] ^ 1]))  # one bit flipped on the way
    assert status == 400 and b"<Code>BadDigest</Code>" in error
    with pytest.raises(ClientError):
        s3.head_object(Bucket="checksums", Key="clip")  # nothing stored

    assert put(clip)[:2] == (200, checksum)  # the answer the gateway agent trusts
    head = s3.head_object(Bucket="checksums", Key="clip", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == checksum and head["ContentLength"] == len(clip)
