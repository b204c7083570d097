"""Every dead-letter queue has an alarm that tells the admins of its first message.

A message lands in a dead-letter queue once its work failed every retry: a clip left unindexed, an export
that never comes, a site's footage kept past its time. Nobody looks at a queue by chance, so each such queue
needs a CloudWatch alarm on ApproximateNumberOfMessagesVisible that fires at one message and notifies an SNS
topic of the template, and that topic must be one CloudWatch can publish to: not encrypted with the AWS managed
key, which grants CloudWatch nothing (AWS drops such alarm notifications without a word).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.template_refs import arn_target

ALARM = "AWS::CloudWatch::Alarm"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
AWS_MANAGED_SNS_KEY = "alias/aws/sns"


def problems(resources: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    alarms = {name: r.get("Properties") or {} for name, r in resources.items() if r.get("Type") == ALARM}
    for queue in sorted(_dead_letter_queues(resources)):
        watching = [name for name, properties in alarms.items() if _alarms_on_first_message(properties, queue)]
        if not watching:
            found.append(
                f"{queue}: no {ALARM} on its ApproximateNumberOfMessagesVisible that fires at one message "
                "(work that failed every retry would wait there unseen)"
            )
        for alarm in watching:
            found += _action_problems(alarm, alarms[alarm], resources)
    return found


def _dead_letter_queues(resources: Mapping[str, Any]) -> set[str]:
    """The queues some queue's RedrivePolicy hands its failed messages to."""
    targets = set()
    for resource in resources.values():
        if resource.get("Type") == QUEUE:
            arn = ((resource.get("Properties") or {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
            if (target := arn_target(arn)) is not None:
                targets.add(target)
    return targets


def _alarms_on_first_message(properties: Mapping[str, Any], queue: str) -> bool:
    dimensions = properties.get("Dimensions") or []
    on_queue = any(
        d.get("Name") == "QueueName" and d.get("Value") == {"Fn::GetAtt": [queue, "QueueName"]} for d in dimensions
    )
    threshold = properties.get("Threshold")
    if not isinstance(threshold, int | float):
        return False
    at_one = {"GreaterThanThreshold": threshold < 1, "GreaterThanOrEqualToThreshold": threshold <= 1}
    return (
        on_queue
        and properties.get("Namespace") == "AWS/SQS"
        and properties.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and at_one.get(properties.get("ComparisonOperator", ""), False)
    )


def _action_problems(alarm: str, properties: Mapping[str, Any], resources: Mapping[str, Any]) -> list[str]:
    topics = [
        action["Ref"]
        for action in properties.get("AlarmActions") or []
        if isinstance(action, Mapping) and (resources.get(action.get("Ref", "")) or {}).get("Type") == TOPIC
    ]
    if not topics:
        return [f"{alarm}: AlarmActions name no {TOPIC} of the template (the alarm would tell nobody)"]
    return [
        f"{alarm}: its topic {topic} is encrypted with {AWS_MANAGED_SNS_KEY}, which CloudWatch cannot publish to"
        for topic in topics
        if (resources[topic].get("Properties") or {}).get("KmsMasterKeyId") == AWS_MANAGED_SNS_KEY
    ]
