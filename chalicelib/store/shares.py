"""Shares in DynamoDB; the recipient's token is found by its hash (index by_token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.domain.shares import Share, ShareStatus
from chalicelib.domain.timeutil import iso
from chalicelib.errors import Conflict
from chalicelib.store.dynamo import all_equal, from_item, is_condition_failure, query_items, to_item

BY_TOKEN_INDEX = "by_token"
BY_SITE_INDEX = "by_site"


class ShareBook:
    def __init__(self, table: Any) -> None:
        self._table = table

    def add(self, share: Share) -> None:
        self._table.put_item(
            Item=to_item(share.model_dump(mode="json")), ConditionExpression=Attr("share_id").not_exists()
        )

    def get(self, share_id: str) -> Share | None:
        item = self._table.get_item(Key={"share_id": share_id}, ConsistentRead=True).get("Item")
        return Share.model_validate(from_item(item)) if item else None

    def by_token(self, token_sha256: str) -> Share | None:
        items = self._table.query(IndexName=BY_TOKEN_INDEX, KeyConditionExpression=Key("token_sha256").eq(token_sha256))
        found = items["Items"]
        return self.get(str(found[0]["share_id"])) if found else None

    def of_site(self, site: str, status: ShareStatus | None = None, case_id: str | None = None) -> list[Share]:
        """A site's shares, newest first, in one state and of one case where given."""
        query: dict[str, Any] = {
            "IndexName": BY_SITE_INDEX,
            "KeyConditionExpression": Key("site").eq(site),
            "ScanIndexForward": False,
        }
        chosen = {"status": status.value if status else None, "case_id": case_id}
        matching = all_equal({name: value for name, value in chosen.items() if value is not None})
        if matching is not None:
            query["FilterExpression"] = matching
        return [Share.model_validate(from_item(item)) for item in query_items(self._table, query)]

    def approve(self, share_id: str, by: str, token_sha256: str, now: datetime, export_id: str | None) -> Share:
        values = {":approved": ShareStatus.APPROVED.value, ":by": by, ":now": iso(now), ":token": token_sha256}
        expression = "SET #status = :approved, approved_by = :by, approved_at = :now, token_sha256 = :token"
        if export_id is not None:
            expression += ", export_id = :export"
            values[":export"] = export_id
        return self._move(share_id, expression, values, Attr("status").eq(ShareStatus.REQUESTED.value))

    def redact(self, share_id: str, redaction_id: str) -> Share:
        """Make a requested share a redacted one, delivering this redaction's excerpt (a later one replaces it)."""
        return self._move(
            share_id,
            "SET redaction_id = :redaction",
            {":redaction": redaction_id},
            Attr("status").eq(ShareStatus.REQUESTED.value),
        )

    def revoke(self, share_id: str, by: str, now: datetime) -> Share:
        return self._move(
            share_id,
            "SET #status = :revoked, revoked_by = :by, revoked_at = :now",
            {":revoked": ShareStatus.REVOKED.value, ":by": by, ":now": iso(now)},
            Attr("status").ne(ShareStatus.REVOKED.value),
        )

    def _move(self, share_id: str, expression: str, values: dict[str, Any], condition: Any) -> Share:
        # `status` is a reserved word; DynamoDB refuses a name the expression does not use.
        names = {"ExpressionAttributeNames": {"#status": "status"}} if "#status" in expression else {}
        try:
            result = self._table.update_item(
                Key={"share_id": share_id},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **names,
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise Conflict(f"share {share_id} changed state meanwhile") from error
            raise
        return Share.model_validate(from_item(result["Attributes"]))
