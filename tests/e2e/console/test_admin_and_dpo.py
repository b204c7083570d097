"""An admin adds a camera, creates a gateway (its token shown once, copied; its health after a heartbeat) and
revokes it, changes an official's role and sites and disables them; a dpo sets retention within the law (a
justification beyond 3 days), erases a clip with a reason and is told why a held clip cannot be erased; the
audit chain's state is shown."""

from __future__ import annotations

import itertools
import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from gateway.uplink import Uplink, UplinkError
from local.demo import DEMO_PASSWORD, Official, create_official

pytestmark = pytest.mark.e2e
_numbers = itertools.count(1)


def test_an_admin_adds_a_camera_and_sees_it_listed(tab, official):
    camera_id = f"birzai-ui-camera-{next(_numbers)}-{int(time.time())}"
    tab.log_in("admin-birzai")
    form = tab.page.get_by_role("form", name="Add a camera")
    form.get_by_label("Camera id").fill(camera_id)
    form.get_by_label("Name", exact=True).fill("Bus station")
    form.get_by_label("Location").fill("Vytauto g. 1")
    form.get_by_role("button", name="Add a camera").click()
    expect(tab.page.locator("tr", has_text=camera_id)).to_contain_text("Bus station")
    tab.screenshot("camera-added")
    listed = official("admin", "birzai").get("/sites/birzai/cameras").expect(200)["cameras"]
    assert camera_id in [camera["camera_id"] for camera in listed]


def test_an_admin_of_two_sites_changes_an_officials_role_and_sites_and_disables_them(tab, api, aws, archive):
    n = f"{next(_numbers)}-{int(time.time())}"
    admin = Official(username=f"ui-admin-{n}", role="admin", sites=("aizkraukle", "birzai"))
    create_official(aws, archive.user_pool_id, admin)
    enrolled = api.login(admin.username, DEMO_PASSWORD).post(
        "/officials", {"username": f"ui-official-{n}", "email": None, "role": "operator", "sites": ["birzai"]}
    )
    username = enrolled.expect(201)["username"]

    tab.log_in(admin.username, DEMO_PASSWORD)
    tab.go("#/admin/birzai")
    row = tab.page.locator(f"[data-official='{username}']")
    row.get_by_label(f"Role of {username}").select_option("investigator")
    expect(row.get_by_label(f"Role of {username}")).to_have_value("investigator")
    row.locator("summary").click()
    sites = row.get_by_role("form", name=f"Sites of {username}")
    expect(sites.get_by_label("Biržai")).to_be_checked()
    sites.get_by_label("Aizkraukle").check()
    sites.get_by_role("button", name="Save").click()
    expect(row.locator("summary")).to_have_text("aizkraukle, birzai")
    tab.screenshot("official-role-and-sites-changed")
    admin_api = api.login(admin.username, DEMO_PASSWORD)
    account = next(a for a in admin_api.get("/officials").expect(200)["officials"] if a["username"] == username)
    assert (account["role"], sorted(account["sites"])) == ("investigator", ["aizkraukle", "birzai"])

    row.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("Disabled")
    tab.screenshot("official-disabled")
    assert not next(a for a in admin_api.get("/officials").expect(200)["officials"] if a["username"] == username)[
        "enabled"
    ]
    row.get_by_role("button", name="Enable").click()
    expect(row).to_contain_text("Enabled")


def test_an_admin_creates_a_gateway_whose_token_works_until_revoked(tab_factory, archive):
    tab = tab_factory(permissions=["clipboard-read", "clipboard-write"])
    tab.log_in("admin-birzai")
    form = tab.page.get_by_role("form", name="Create a gateway")
    form.get_by_label("Name", exact=True).fill("Market square box")
    form.get_by_label("Market square").check()
    form.get_by_role("button", name="Create a gateway").click()
    token = tab.page.get_by_test_id("shown-once").inner_text()
    tab.page.get_by_role("button", name="Copy").click()
    expect(tab.page.get_by_role("button", name="Copied")).to_be_visible()
    assert tab.page.evaluate("() => navigator.clipboard.readText()") == token
    tab.screenshot("gateway-token-shown-once")
    gateway_id = token.split(".")[0]
    Uplink(archive.api_url, token).heartbeat({"version": "console-test", "failed_clips": 2})

    tab.page.reload()
    row = tab.page.locator("tr", has_text=gateway_id)
    expect(row.locator("td").nth(1)).not_to_have_text("never")  # last seen: the heartbeat, in site time
    expect(row.locator("td").nth(3)).to_have_text("2")  # clips refused for good, waiting on the box
    expect(row).to_have_class("refused")  # stands out
    tab.screenshot("gateway-health")
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")
    tab.screenshot("gateway-revoked")
    tab.page.reload()
    expect(tab.page.get_by_test_id("shown-once")).to_have_count(0)  # shown once: not again
    with pytest.raises(UplinkError):
        Uplink(archive.api_url, token).heartbeat({"version": "console-test"})


def test_a_dpo_sets_retention_within_the_law_with_a_justification(tab):
    tab.log_in("dpo-birzai")
    tab.page.get_by_role("link", name="Data protection").click()
    days = tab.page.get_by_label("Keep footage for (days)")
    expect(days).to_be_visible()
    expect(tab.page.get_by_text(re.compile("legal maximum 30 days"))).to_be_visible()

    days.fill("60")  # beyond the legal maximum: the form itself refuses (the API would, too)
    assert days.evaluate("input => input.validity.rangeOverflow") is True
    tab.screenshot("retention-beyond-the-legal-maximum")

    days.fill("7")  # beyond 3 days a justification is required (EDPB Guidelines 3/2019, 121)
    justification = tab.page.get_by_label("Justification")
    justification.fill("")
    assert justification.evaluate("field => field.validity.valueMissing") is True
    days.fill("3")
    assert justification.evaluate("field => field.validity.valueMissing") is False
    days.fill("7")
    justification.fill("a week covers a reported incident's discovery and the police request")
    tab.page.get_by_role("button", name="Save").click()
    expect(tab.page.get_by_text("Saved.")).to_be_visible()
    expect(tab.page.get_by_text(re.compile("Footage is kept 7 days"))).to_be_visible()


def erase_from_its_timeline(tab, clip, clip_id: str, reason: str):
    """As Biržai's dpo: view the castle clip from its timeline, then ask to erase it; the erasure form."""
    tab.log_in("dpo-birzai")
    dialog = tab.ask_to_play(tab.open_timeline("birzai", "birzai-castle", clip.start, clip_id))
    dialog.get_by_label("Purpose").fill("erasure request from the person filmed")
    dialog.get_by_role("button", name="View").click()
    erase = tab.page.get_by_role("form", name="Erase this clip")
    erase.get_by_label("Reason").fill(reason)
    erase.get_by_role("button", name="Erase").click()
    return erase


def test_the_console_says_why_a_held_clip_cannot_be_erased(tab, official, record, upload):
    # Hours from the session's other clips of the castle: the moment typed in plays this clip and no other.
    clip = record("birzai-castle", seconds=3, ended_ago=timedelta(hours=2, minutes=41))
    clip_id = upload("birzai", clip)["clip_id"]
    investigator = official("investigator", "birzai")
    case = investigator.post(
        "/cases", {"site_id": "birzai", "reference": "LT-HOLD-1", "reason": "vandalism at the castle gate"}
    ).expect(201)
    investigator.post(f"/cases/{case['case_id']}/holds", {"clip_ids": [clip_id]}).expect(200)
    tab.expect_error("status of 409")
    erase = erase_from_its_timeline(tab, clip, clip_id, "the data subject objected (Art. 21)")

    expect(erase.get_by_role("alert")).to_contain_text(re.compile(r"Not erased: .*held by case"))
    tab.screenshot("erasure-refused-while-held")


def test_the_audit_screen_shows_the_chains_state_and_its_refusals(tab, official):
    assert official("operator", "aizkraukle").get("/audit", {"site": "aizkraukle"}).status == 403  # refused
    tab.log_in("auditor-aizkraukle")
    tab.page.get_by_role("button", name="Verify").click()
    verification = tab.page.get_by_test_id("verification")
    expect(verification).to_be_visible()
    said = official("auditor", "aizkraukle").get("/audit/verify", {"site": "aizkraukle"}).expect(200)
    if said["intact"]:
        expect(verification).to_have_text(re.compile(r"^Intact: \d+ events"))
    else:
        expect(verification).to_contain_text(said["problem"])
    tab.page.get_by_label("Outcome").select_option("refused")
    tab.page.get_by_role("button", name="Show events").click()
    refusal = tab.page.locator("tr.refused", has_text="user:operator-aizkraukle").filter(has_text="audit.read")
    expect(refusal.first).to_be_visible()
    expect(refusal.first).to_contain_text("Refused")
    tab.screenshot("audit-refusals-and-verification")


def test_a_dpo_erases_a_clip_no_case_holds_with_a_reason(tab, official, record, upload):
    clip = record("birzai-castle", seconds=3, ended_ago=timedelta(hours=3, minutes=52))
    clip_id = upload("birzai", clip)["clip_id"]
    erase = erase_from_its_timeline(tab, clip, clip_id, "the data subject objected (Art. 21), no case holds it")
    expect(erase.get_by_role("status")).to_have_text("Erased.")
    tab.screenshot("clip-erased")
    assert official("dpo", "birzai").get(f"/clips/{clip_id}").expect(200)["status"] == "erased"
    expect(tab.page.locator(f".bar .clip[data-clip='{clip_id}']")).to_have_count(0)  # gone from the timeline
