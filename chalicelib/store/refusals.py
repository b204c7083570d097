"""Counters of anonymous refusals per interval and source, and which intervals went into the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.domain.refusals import RefusalCount, expires
from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import is_condition_failure, query_items

# Sort key of an interval's "folded" mark: no source address sorts or looks like it.
FOLDED = "~folded"


class RefusalCounts:
    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, counts: list[RefusalCount]) -> None:
        """Unconditional increments: counters never wait on each other or on the audit chain."""
        for count in counts:
            self._table.update_item(
                Key={"interval": iso(count.interval), "source": count.source},
                UpdateExpression="ADD without_credentials :a, credentials_refused :r SET expires_at = :e",
                ExpressionAttributeValues={
                    ":a": count.without_credentials,
                    ":r": count.credentials_refused,
                    ":e": expires(count.interval),
                },
            )

    def begin_fold(self, interval: datetime) -> bool:
        """Mark an interval folded; False if it was already (a schedule that fires twice folds once)."""
        try:
            self._table.put_item(
                Item={"interval": iso(interval), "source": FOLDED, "expires_at": expires(interval)},
                ConditionExpression="attribute_not_exists(#s)",
                ExpressionAttributeNames={"#s": "source"},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def counts(self, interval: datetime) -> list[RefusalCount]:
        query = {"KeyConditionExpression": Key("interval").eq(iso(interval)), "ConsistentRead": True}
        return [
            RefusalCount(
                interval,
                str(item["source"]),
                int(item.get("without_credentials", 0)),
                int(item.get("credentials_refused", 0)),
            )
            for item in query_items(self._table, query)
            if item["source"] != FOLDED
        ]
