"""The hourly retention schedule fans out one sweep per site through the retention queue; a site's sweep that
would outlast its function hands the rest of its site on as a message like its own."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.domain.timeutil import iso
from chalicelib.handlers.retention import HAND_ON_BEFORE_S, site_sweep
from tests.integration.conftest import TEST_SITE
from tests.integration.test_clip_index import NOW, clip, indexed

OTHER_SITE = TEST_SITE.model_copy(update={"site_id": "birzai", "name": "Biržai", "country": "LT"})


def queued_sweeps() -> list[dict[str, str]]:
    """Every message waiting on the retention queue (taken off it)."""
    sqs, url = boto3.client("sqs"), wiring.get_settings().retention_queue_url
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def statuses(numbers: range) -> list[str | None]:
    return [found.status if (found := wiring.clip_index().get(clip(n).clip_id)) else None for n in numbers]


def test_the_hourly_schedule_asks_for_one_sweep_per_site_and_each_expires_its_sites_clips(deployed):
    wiring.catalog().put_site(TEST_SITE)
    wiring.catalog().put_site(OTHER_SITE)
    for number in (1, 2):
        indexed(number, retain_days=1)
    at = NOW + timedelta(days=2)

    with Client(app) as client:
        scheduled = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        scheduled["time"] = iso(at)
        assert client.lambda_.invoke("expire_retention", scheduled).payload == {"sites": 2}
        asked = queued_sweeps()
        assert sorted(asked, key=lambda sweep: sweep["site_id"]) == [
            site_sweep("aizkraukle", at),
            site_sweep("birzai", at),
        ]
        assert statuses(range(1, 3)) == ["indexed", "indexed"]  # the schedule itself expires nothing
        bodies = [json.dumps(sweep) for sweep in asked]
        event = client.events.generate_sqs_event(message_bodies=bodies, queue_name="safe-society-retention")
        assert client.lambda_.invoke("expire_site", event).payload == {"batchItemFailures": []}

    assert statuses(range(1, 3)) == ["expired", "expired"]
    assert queued_sweeps() == []  # both finished: nothing handed on


def test_a_sweep_short_of_time_hands_the_rest_of_its_site_on_and_the_next_finishes_it(deployed, monkeypatch):
    wiring.catalog().put_site(TEST_SITE)
    monkeypatch.setattr("chalicelib.handlers.retention.PAGE_SIZE", 2)
    for number in range(1, 6):
        indexed(number, retain_days=1)
    at = NOW + timedelta(days=2)
    time_left = iter([HAND_ON_BEFORE_S + 1, HAND_ON_BEFORE_S - 1])  # time for one page, then short of it
    sweep = wiring.retention_sweep()

    first = sweep.take(json.dumps(site_sweep("aizkraukle", at)), lambda: next(time_left))

    assert (first.expired, first.finished) == (4, False)  # two pages, then it stopped
    assert statuses(range(1, 6)).count("expired") == 4
    (handed_on,) = queued_sweeps()
    assert handed_on == site_sweep("aizkraukle", at)  # the same site, as of the same hour
    second = sweep.take(json.dumps(handed_on), lambda: 900.0)
    assert (second.expired, second.finished) == (1, True)
    assert statuses(range(1, 6)) == ["expired"] * 5
    assert queued_sweeps() == []
