"""Notifications: which were sent (DynamoDB, so each is told once) and the SNS topics they are sent to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import is_condition_failure

# A told state is remembered this long (DynamoDB's TTL removes it): past it, a state still true is told again.
REMEMBER = timedelta(days=30)
# The key infra/template.yaml encrypts the sites' topics with (AWS's own for SNS: publishers need no grant).
TOPIC_KEY = "alias/aws/sns"


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
    """One SNS topic per site, `{arn prefix}-{site}`, and the archive's admins' own, `{arn prefix}`.

    infra/template.yaml declares the topics of the sites it was written for, with their e-mail subscriptions.
    A site configured later (PUT /sites/{site}/configuration) gets its topic here, by the same name, the first
    time it has something to tell: the notify role may create topics under that name and no other."""

    def __init__(self, sns_client: Any, arn_prefix: str) -> None:
        self._sns = sns_client
        self._arn = arn_prefix

    def topic_arn(self, site: str) -> str:
        return f"{self._arn}-{site}"

    @property
    def admins_topic_arn(self) -> str:
        return self._arn

    def publish(self, site: str, subject: str, body: str) -> str:
        """Send to the site's topic, made first if the site has none yet; the message id."""
        try:
            return self._publish(self.topic_arn(site), subject, body)
        except ClientError as error:
            if _code(error) != "NotFound":
                raise
        name = self.topic_arn(site).rpartition(":")[2]
        self._sns.create_topic(
            Name=name, Attributes={"DisplayName": f"Safe Society {site}", "KmsMasterKeyId": TOPIC_KEY}
        )
        return self._publish(self.topic_arn(site), subject, body)

    def publish_to_admins(self, subject: str, body: str) -> str:
        return self._publish(self.admins_topic_arn, subject, body)

    def subscribed(self, site: str) -> bool:
        """Whether anyone has confirmed a subscription to the site's topic (an e-mail one waits for its link);
        False for a site that has no topic yet."""
        pages = self._sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=self.topic_arn(site))
        try:
            return any(
                subscription["SubscriptionArn"] != "PendingConfirmation"
                for page in pages
                for subscription in page["Subscriptions"]
            )
        except ClientError as error:
            if _code(error) == "NotFound":
                return False
            raise

    def _publish(self, topic_arn: str, subject: str, body: str) -> str:
        return str(self._sns.publish(TopicArn=topic_arn, Subject=subject, Message=body)["MessageId"])


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
