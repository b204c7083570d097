"""The dpo's queues in the console: subject requests with their Art. 12(3) deadline counting down, the overdue
first and in red; a share the dpo once requested themselves (as an investigator, before a role change) offers
no approval; another share is refused and leaves the queue."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from local.demo import DEMO_PASSWORD, Official, create_official
from tests.e2e.conftest import ACCOUNT_CHECK_SECONDS

pytestmark = pytest.mark.e2e
VILNIUS = ZoneInfo("Europe/Vilnius")
_numbers = itertools.count(1)


def subject_request(dpo, clip, received: date, description: str) -> dict:
    body = {
        "site_id": "birzai",
        "camera_ids": [clip.camera_id],
        "start": (clip.start - timedelta(minutes=1)).isoformat(),
        "end": (clip.end + timedelta(minutes=1)).isoformat(),
        "received": received.isoformat(),
        "description": description,
    }
    return dpo.post("/subject-requests", body).expect(201)


def test_overdue_subject_requests_come_first_in_red_and_each_counts_its_days(tab, official, record, upload):
    clip = record("birzai-lake", seconds=3, ended_ago=timedelta(hours=6, minutes=3))
    upload("birzai", clip)
    dpo = official("dpo", "birzai")
    n = next(_numbers)
    on_time = subject_request(dpo, clip, datetime.now(UTC).date(), f"blue coat by the bridge rail, {n}")
    late = subject_request(dpo, clip, datetime.now(UTC).date() - timedelta(days=40), f"red scarf, cycling, {n}")

    tab.log_in("dpo-birzai")
    tab.go("#/dpo/birzai")
    queue = tab.page.get_by_role("region", name="Subject access requests")
    late_card = queue.locator("li", has_text=late["description"])
    on_time_card = queue.locator("li", has_text=on_time["description"])
    expect(late_card).to_be_visible()
    tab.screenshot("subject-requests-overdue-first")

    cards = queue.locator("ul.cards > li")
    overdue_flags = [cards.nth(i).evaluate("li => li.classList.contains('overdue')") for i in range(cards.count())]
    assert overdue_flags == sorted(overdue_flags, reverse=True), "every overdue request before every other"
    today = datetime.now(VILNIUS).date()
    overdue_days = (today - date.fromisoformat(late["deadline"])).days
    due_days = (date.fromisoformat(on_time["deadline"]) - today).days
    expect(late_card).to_contain_text(f"Overdue by {overdue_days} days ({late['deadline']})")
    expect(on_time_card).to_contain_text(f"Due in {due_days} days ({on_time['deadline']})")
    red = late_card.locator(".deadline").evaluate("e => getComputedStyle(e).color")
    ordinary = on_time_card.locator(".deadline").evaluate("e => getComputedStyle(e).color")
    assert red != ordinary and red.startswith("rgb(") and int(red[4:].split(",")[0]) > 150, (red, ordinary)


def held_clip_share(session, clip_id: str, recipient: str) -> str:
    """A new Biržai case holding the clip, and a share of it requested by `session`: the share's id."""
    case_id = session.post(
        "/cases", {"site_id": "birzai", "reference": f"LT-Q-{time.time_ns()}", "reason": "stolen bicycle"}
    ).expect(201)["case_id"]
    session.post(f"/cases/{case_id}/holds", {"clip_ids": [clip_id]}).expect(200)
    body = {
        "case_id": case_id,
        "clip_ids": [clip_id],
        "recipient": recipient,
        "purpose": "pre-trial investigation of the theft",
        "expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    }
    return str(session.post("/shares", body).expect(201)["share_id"])


def test_a_dpo_is_never_offered_their_own_share_and_refuses_another(tab, api, aws, archive, official, record, upload):
    clip_id = upload("birzai", record("birzai-market", seconds=3, ended_ago=timedelta(minutes=17)))["clip_id"]
    n = f"{next(_numbers)}-{int(time.time())}"
    moved = Official(username=f"ui-moved-{n}", role="investigator", sites=("birzai",))
    create_official(aws, archive.user_pool_id, moved)
    own = held_clip_share(api.login(moved.username, DEMO_PASSWORD), clip_id, f"Biržai police, own request {n}")
    other = held_clip_share(official("investigator", "birzai"), clip_id, f"Panevėžys prosecutor, case {n}")
    # The investigator becomes the site's second dpo: what they asked for is still for someone else to approve.
    change = {"role": "dpo", "sites": ["birzai"]}
    official("admin", "birzai").request("PUT", f"/officials/{moved.username}", change).expect(200)
    as_dpo = api.login(moved.username, DEMO_PASSWORD)
    deadline = time.monotonic() + ACCOUNT_CHECK_SECONDS + 5  # until the archive's account check sees the change
    while as_dpo.get("/shares", {"site": "birzai"}).status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)

    tab.log_in(moved.username, DEMO_PASSWORD)
    tab.go("#/dpo/birzai")
    own_card = tab.page.locator(f"[data-share='{own}']")
    expect(own_card).to_contain_text("You requested this share: another data protection officer must approve it.")
    expect(own_card.get_by_role("button")).to_have_count(0)
    other_card = tab.page.locator(f"[data-share='{other}']")
    expect(other_card.get_by_role("button", name="Approve")).to_be_visible()
    tab.screenshot("own-share-not-approvable")

    other_card.get_by_role("button", name="Refuse").click()
    expect(other_card).to_have_count(0)
    tab.screenshot("share-refused")
    dpo = official("dpo", "birzai")
    assert dpo.get(f"/shares/{other}").expect(200)["status"] == "revoked"
    assert dpo.get(f"/shares/{own}").expect(200)["status"] == "requested"
