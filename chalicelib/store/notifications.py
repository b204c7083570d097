"""Notifications: which were sent (DynamoDB, so each is told once) and the sites' SNS topics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import is_condition_failure

# A told state is remembered this long (DynamoDB's TTL removes it): past it, a state still true is told again.
REMEMBER = timedelta(days=30)


class SentNotices:
    def __init__(self, table: Any) -> None:
        self._table = table

    def first_time(self, site: str, key: str, now: datetime) -> bool:
        """Record that `key` is told; False if it was already (two concurrent runs tell it once)."""
        try:
            self._table.put_item(
                Item={"site": site, "key": key, "told_at": iso(now), "expires": int((now + REMEMBER).timestamp())},
                ConditionExpression=Attr("key").not_exists(),
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def forget(self, site: str, key: str) -> None:
        """Undo `first_time` when the message could not be sent, so that the next run tells it."""
        self._table.delete_item(Key={"site": site, "key": key})


class SiteTopics:
    """One SNS topic per site, `{arn prefix}-{site}` (infra/template.yaml); subscriptions are e-mail addresses."""

    def __init__(self, sns_client: Any, arn_prefix: str) -> None:
        self._sns = sns_client
        self._arn = arn_prefix

    def topic_arn(self, site: str) -> str:
        return f"{self._arn}-{site}"

    def publish(self, site: str, subject: str, body: str) -> str:
        return str(self._sns.publish(TopicArn=self.topic_arn(site), Subject=subject, Message=body)["MessageId"])
