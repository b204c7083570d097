"""The notification job (chalicelib.handlers.notifications.Notifier) against moto in process, with the clock
passed in: each thing told once across runs, every site told though one of them fails, a site configured after
the template still told."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.handlers.notifications import Notifier
from chalicelib.observability import metrics
from chalicelib.store.notifications import SentNotices, SiteTopics
from tests.integration.conftest import TEST_SITE
from tests.sns_inbox import sqs_inbox
from tests.unit.test_notifications import NOW, camera, gateway, request

SILENT_AFTER = timedelta(minutes=10)
DECLARED = ("aizkraukle", "birzai")  # the sites infra/template.yaml has topics for
NEW_SITE = "jaunpils"  # configured later, as `safe-society-admin sites apply` does


def add_site(site_id: str) -> None:
    wiring.catalog().put_site(TEST_SITE.model_copy(update={"site_id": site_id}))


def add_silent_camera(site_id: str) -> str:
    """A camera that never sent a clip: a notice on every run until it does."""
    silent = camera(None).model_copy(update={"camera_id": f"{site_id}-square", "site_id": site_id})
    wiring.catalog().add_camera(silent)
    return silent.camera_id


def notifier(topics: SiteTopics | None = None) -> Notifier:
    """The job as wiring builds it, with the topics adapter swapped in where a test breaks it."""
    if topics is None:
        return wiring.notifier()
    settings = wiring.get_settings()
    return Notifier(
        wiring.catalog(),
        wiring.share_book(),
        wiring.subject_request_book(),
        wiring.case_book(),
        wiring.audit_digests(),
        SentNotices(boto3.resource("dynamodb").Table(settings.notifications_table)),
        topics,
        SILENT_AFTER,
    )


@pytest.fixture
def inbox(deployed) -> Callable[[str], Callable[[], list[str]]]:
    """`inbox(topic_arn)`: what is published to the topic from now on."""
    return functools.partial(sqs_inbox, boto3.client("sqs"), boto3.client("sns"))


def site_topic(site: str) -> str:
    return f"{wiring.get_settings().notifications_topic_arn_prefix}-{site}"


def lines_of(bodies: list[str], kind: str) -> list[str]:
    return [line for body in bodies for line in body.splitlines() if line.startswith(f"- [{kind}]")]


class FailingOnce(SiteTopics):
    """SNS refusing one site's first message (a throttled or deleted topic)."""

    def __init__(self, failing_site: str) -> None:
        settings = wiring.get_settings()
        super().__init__(boto3.client("sns"), settings.notifications_topic_arn_prefix)
        self._failing = failing_site

    def publish(self, site: str, subject: str, body: str) -> str:
        if site == self._failing:
            self._failing = ""
            raise RuntimeError("SNS said no")
        return super().publish(site, subject, body)


def test_one_sites_failure_leaves_the_others_told_and_its_notices_are_sent_next_run(deployed, inbox):
    for site in DECLARED:
        add_site(site)
        add_silent_camera(site)
    told = {site: inbox(site_topic(site)) for site in DECLARED}
    failing, other = wiring.catalog().site_ids()  # the site the job visits first: the other comes after it
    topics = FailingOnce(failing)
    metrics.clear_metrics()

    first = notifier(topics).run(NOW)

    assert (first.told, first.failed_sites) == (1, (failing,))
    assert metrics.metric_set["NotificationFailures"]["Value"] == [1.0]
    assert told[failing]() == []
    assert lines_of(told[other](), "camera_silent") == [
        f"- [camera_silent] camera {other}-square silent: last clip never"
    ]
    metrics.clear_metrics()

    second = notifier(topics).run(NOW + timedelta(hours=1))

    assert (second.told, second.failed_sites) == (1, ())
    assert len(lines_of(told[failing](), "camera_silent")) == 1
    assert told[other]() == []  # told once, on the first run


def test_a_failure_is_logged_without_the_records_text(deployed, logged_lines):
    add_site("aizkraukle")
    add_silent_camera("aizkraukle")

    class Leaky(FailingOnce):
        def publish(self, site: str, subject: str, body: str) -> str:
            raise ValueError("recipient 'Biržai district police', purpose 'evidence for LT-2026-501'")

    notifier(Leaky("aizkraukle")).run(NOW)

    (line,) = [line for line in logged_lines() if line["message"].startswith("notifying a site failed")]
    assert (line["site"], line["error"]) == ("aizkraukle", "ValueError")
    assert "police" not in json.dumps(line)
    assert any(where.startswith("test_notifier.py:") for where in line["where"])


def test_a_site_configured_after_the_template_is_told_through_its_own_new_topic(deployed, inbox):
    add_site(NEW_SITE)
    add_silent_camera(NEW_SITE)
    admins = inbox(wiring.get_settings().notifications_topic_arn_prefix)

    assert notifier().run(NOW).told == 1

    # Nobody can be subscribed to a topic just made: the archive's admins are told, and how to hand it on.
    (to_admins,) = admins()
    assert f"aws sns subscribe --topic-arn {site_topic(NEW_SITE)} --protocol email" in to_admins
    assert lines_of([to_admins], "camera_silent") == [
        f"- [camera_silent] camera {NEW_SITE}-square silent: last clip never"
    ]
    site = inbox(site_topic(NEW_SITE))  # the topic exists now: its DPO subscribes
    wiring.catalog().add_gateway(gateway(None).model_copy(update={"gateway_id": "gw-jaunpils-1", "site_id": NEW_SITE}))

    assert notifier().run(NOW + timedelta(hours=1)).told == 1

    assert lines_of(site(), "gateway_not_heard_from") == [
        "- [gateway_not_heard_from] gateway gw-jaunpils-1 not heard from: last heartbeat never"
    ]
    assert admins() == []  # the site has its own subscriber now


def test_cameras_gateways_and_subject_requests_are_each_told_once_across_runs(deployed, inbox):
    add_site("aizkraukle")
    camera_id = add_silent_camera("aizkraukle")
    wiring.catalog().add_gateway(gateway(None))
    wiring.subject_request_book().add(request(NOW.date() + timedelta(days=3)))
    told = inbox(site_topic("aizkraukle"))

    runs = [notifier().run(NOW + timedelta(hours=hour)).told for hour in range(2)]

    bodies = told()
    assert runs == [3, 0]
    assert len(bodies) == 1
    assert [line.split("]")[0] for line in bodies[0].splitlines()] == [
        "- [subject_request_due",
        "- [camera_silent",
        "- [gateway_not_heard_from",
    ]
    assert camera_id in bodies[0]


def test_a_subject_request_is_told_again_once_overdue(deployed, inbox):
    add_site("aizkraukle")
    wiring.subject_request_book().add(request(NOW.date() + timedelta(days=1)))
    told = inbox(site_topic("aizkraukle"))

    reports = [notifier().run(NOW + timedelta(days=day)).told for day in (0, 1, 2, 3)]

    assert reports == [1, 0, 1, 0]  # due; still due; overdue; still overdue
    assert [kind for body in told() for kind in ("due", "overdue") if f"[subject_request_{kind}]" in body] == [
        "due",
        "overdue",
    ]


def digest_with(problem: str | None) -> dict[str, Any]:
    return {"payload": {"problem": problem}}


@pytest.mark.parametrize(
    ("written", "told"),
    [
        pytest.param({}, [], id="no digest yet: a site not digested before is not broken"),
        pytest.param({2: ""}, ["is missing"], id="the one before written, the last missing"),
        pytest.param({2: "", 1: ""}, [], id="both written, intact"),
        pytest.param({2: "", 1: "segment 3 does not lead on"}, ["records a break"], id="the last records a break"),
    ],
)
def test_the_last_audit_digest_missing_or_broken_is_told(deployed, inbox, written: dict[int, str], told: list[str]):
    """`written` maps how many intervals before the current one a digest is written to the problem it records."""
    add_site("aizkraukle")
    for back, problem in written.items():
        at = interval_start(NOW) - back * DIGEST_INTERVAL
        wiring.audit_digests().write("aizkraukle", at, digest_with(problem), NOW + timedelta(days=1))
    received = inbox(site_topic("aizkraukle"))

    notifier().run(NOW)

    lines = lines_of(received(), "audit_verification_failed")
    assert [what for line in lines for what in ("is missing", "records a break") if what in line] == told
