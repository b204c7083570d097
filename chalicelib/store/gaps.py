"""Gaps per camera in DynamoDB: partition camera_id, sorted by start."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from chalicelib.domain.gaps import Gap
from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import query_items, to_item


class GapLog:
    def __init__(self, table: Any) -> None:
        self._table = table

    def record(self, gaps: list[Gap]) -> None:
        """Idempotent: the same drop reported twice (a retried report) is one gap."""
        with self._table.batch_writer(overwrite_by_pkeys=["camera_id", "start"]) as batch:
            for gap in gaps:
                batch.put_item(Item=to_item(gap.model_dump(mode="json")))

    def gaps(self, camera_id: str, start: datetime, end: datetime) -> list[Gap]:
        query = {"KeyConditionExpression": Key("camera_id").eq(camera_id) & Key("start").between(iso(start), iso(end))}
        return [Gap.model_validate(item) for item in query_items(self._table, query)]
