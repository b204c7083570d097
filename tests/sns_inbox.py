"""An SQS queue subscribed to an SNS topic, as a mailbox the tests read what was published from."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def sqs_inbox(sqs: Any, sns: Any, topic_arn: str) -> Callable[[], list[str]]:
    """Subscribe a new queue to the topic; what this returns gives the messages published since it last ran."""
    url = sqs.create_queue(QueueName=f"inbox-{topic_arn.rpartition(':')[2]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)

    def received() -> list[str]:
        bodies = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            bodies += [json.loads(message["Body"])["Message"] for message in messages]
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    return received
