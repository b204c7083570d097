"""The local moto server (local/moto_server.py) as a process: transactions stay atomic, memory stays flat."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.audit import Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.audit import AuditLog
from local.aws import AwsEndpoint
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


def audit_shaped_table(aws: AwsEndpoint, name: str) -> Any:
    """The template's audit table: site + seq, a local index by time."""
    aws.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "site", "AttributeType": "S"},
            {"AttributeName": "seq", "AttributeType": "N"},
            {"AttributeName": "at_key", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "site", "KeyType": "HASH"}, {"AttributeName": "seq", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_time",
                "KeySchema": [
                    {"AttributeName": "site", "KeyType": "HASH"},
                    {"AttributeName": "at_key", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return aws.resource("dynamodb").Table(name)


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def append(log: AuditLog, count: int) -> None:
    for number in range(count):
        log.record(OPERATOR, "clip.view", "aizkraukle", f"clip:{number}", Outcome.ALLOWED, datetime.now(UTC))


def test_memory_stays_flat_while_audit_events_are_appended(moto):
    aws, server = moto
    log = AuditLog(audit_shaped_table(aws, "audit-memory"))
    append(log, 100)
    before = rss_mb(server.pid)

    append(log, 200)  # unpatched moto 5.2.5 keeps a copy of the whole table per item of each transaction

    grown = rss_mb(server.pid) - before
    assert grown < 10, f"moto grew {grown:.0f} MB for 200 audit events"
    assert log.head("aizkraukle").seq == 300


def test_a_cancelled_transaction_leaves_every_item_it_named_as_it_was(moto):
    aws, _ = moto
    table = audit_shaped_table(aws, "audit-atomic")
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
