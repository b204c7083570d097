"""The notification job against the local archive: a share awaiting approval reaches the site's SNS topic
once, in ids and times only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import fire

pytestmark = pytest.mark.e2e


def test_a_share_awaiting_approval_is_told_to_the_sites_topic_once(archive, aws, official, record, upload):
    sqs, sns = aws.client("sqs"), aws.client("sns")
    inbox = sqs.create_queue(QueueName="birzai-dpo-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = archive.environment["SAFE_NOTIFICATIONS_TOPIC_ARN_PREFIX"] + "-birzai"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    clip_id = upload("birzai", record("birzai-market"))["clip_id"]
    investigator = official("investigator", "birzai")
    case_id = investigator.post(
        "/cases", {"site_id": "birzai", "reference": "LT-2026-501", "reason": "stolen bicycle at the market"}
    ).expect(201)["case_id"]
    investigator.post(f"/cases/{case_id}/holds", {"clip_ids": [clip_id]}).expect(200)
    share_id = investigator.post(
        "/shares",
        {
            "case_id": case_id,
            "clip_ids": [clip_id],
            "recipient": "Biržai district police station",
            "purpose": "evidence for LT-2026-501",
            "expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
    ).expect(201)["share_id"]

    now = datetime.now(UTC)
    fire(archive, "notify", now)
    fire(archive, "notify", now + timedelta(hours=1))

    bodies = []
    while messages := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
        bodies += [json.loads(m["Body"])["Message"] for m in messages]
        for m in messages:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=m["ReceiptHandle"])
    told = [line for body in bodies for line in body.splitlines() if share_id in line]
    (line,) = told  # told once, though the job ran twice
    assert line.startswith(f"- [share_awaits_approval] share {share_id} (case {case_id}) awaits approval since 20")
    assert all("Biržai district police" not in body and "bicycle" not in body for body in bodies)
