"""The notification job against the local archive: a share awaiting approval reaches the site's SNS topic
once, in ids and times only; a site applied later through the admin CLI is told too."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from admin.cli import main as admin_cli
from local.demo import DEMO_PASSWORD, Official, create_official, demo_plan
from tests.e2e.conftest import fire
from tests.sns_inbox import sqs_inbox

pytestmark = pytest.mark.e2e


@pytest.fixture
def inbox(archive, aws) -> Callable[[str], Callable[[], list[str]]]:
    """`inbox(site)`: what is published to the site's topic from now on (the archive's admins' for "")."""
    prefix = archive.environment["SAFE_NOTIFICATIONS_TOPIC_ARN_PREFIX"]
    return lambda site: sqs_inbox(aws.client("sqs"), aws.client("sns"), f"{prefix}-{site}" if site else prefix)


def test_a_share_awaiting_approval_is_told_to_the_sites_topic_once(archive, official, record, upload, inbox):
    received = inbox("birzai")
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

    bodies = received()
    told = [line for body in bodies for line in body.splitlines() if share_id in line]
    (line,) = told  # told once, though the job ran twice
    assert line.startswith(f"- [share_awaits_approval] share {share_id} (case {case_id}) awaits approval since 20")
    assert all("Biržai district police" not in body and "bicycle" not in body for body in bodies)


NEW_SITE = "notify-town"


def test_a_site_applied_through_the_admin_cli_is_told_its_silent_camera_and_gets_its_own_topic(
    archive, aws, inbox, tmp_path, monkeypatch, capsys
):
    create_official(aws, archive.user_pool_id, Official("admin-notify", "admin", (NEW_SITE,)))
    monkeypatch.setenv("SAFE_ADMIN_PASSWORD", DEMO_PASSWORD)

    def admin(*words: str) -> None:
        code = admin_cli(["--api", archive.api_url, "--user", "admin-notify", *words])
        assert code == 0, capsys.readouterr().err

    sites = tmp_path / "sites.yaml"
    sites.write_text(json.dumps({"sites": {NEW_SITE: demo_plan()["sites"]["birzai"] | {"name": "Notify town"}}}))
    admin("sites", "apply", str(sites))
    admin("cameras", "add", NEW_SITE, f"{NEW_SITE}-gate", "--name", "Gate", "--location", "By the gate")
    admins = inbox("")
    now = datetime.now(UTC)

    fire(archive, "notify", now)

    # The template has no topic for the site: the job made it, and the archive's admins are told meanwhile.
    (to_admins,) = [body for body in admins() if f"camera {NEW_SITE}-gate silent" in body]
    prefix = archive.environment["SAFE_NOTIFICATIONS_TOPIC_ARN_PREFIX"]
    assert f"aws sns subscribe --topic-arn {prefix}-{NEW_SITE} --protocol email" in to_admins
    dpo = inbox(NEW_SITE)  # the site's topic exists now: its DPO subscribes
    admin("gateways", "add", NEW_SITE, "--name", "gate box", "--camera", f"{NEW_SITE}-gate")

    fire(archive, "notify", now + timedelta(hours=1))

    (told,) = dpo()
    assert f"- [gateway_not_heard_from] gateway gw-{NEW_SITE}-" in told
    assert not [body for body in admins() if NEW_SITE in body]  # the site has its own subscriber now
