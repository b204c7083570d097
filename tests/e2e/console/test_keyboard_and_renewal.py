"""The console works from the keyboard alone (an operator finds and plays footage, an investigator opens a case,
a dpo approves a share: every control reached with Tab), and a signed URL that has expired is renewed without
asking for the purpose again (each renewal an audited view with the same purpose)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, expect

pytestmark = pytest.mark.e2e


def eventually(condition, within_s: float = 20) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def tab_to(tab, control: Locator, presses: int = 60) -> None:
    """Press Tab until the control has the focus (it must be reachable from the keyboard)."""
    for _ in range(presses):
        if control.evaluate("element => element === document.activeElement"):
            return
        tab.page.keyboard.press("Tab")
    expect(control).to_be_focused()


def keyboard_login(tab, username: str) -> None:
    tab.open()
    expect(tab.page.get_by_label("User name")).to_be_focused()
    tab.page.keyboard.type(username)
    tab.page.keyboard.press("Tab")
    tab.page.keyboard.type(tab.password_of(username))
    tab.page.keyboard.press("Enter")
    expect(tab.page.get_by_role("button", name="Log out")).to_be_visible()


def test_an_investigator_opens_a_case_with_the_keyboard_alone(tab):
    reference = f"LT-KEYS-{time.time_ns() % 10**9}"
    keyboard_login(tab, "investigator-birzai")
    tab_to(tab, tab.page.get_by_role("link", name="Cases"))
    tab.page.keyboard.press("Enter")
    form = tab.page.get_by_role("form", name="Open a case")
    tab_to(tab, form.get_by_label("Reference"))
    tab.page.keyboard.type(reference)
    tab_to(tab, form.get_by_label("Reason"))
    tab.page.keyboard.type("damage to the market stalls overnight")
    tab_to(tab, form.get_by_role("button", name="Open a case"))
    tab.page.keyboard.press("Enter")
    expect(tab.page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
    tab.screenshot("case-opened-from-the-keyboard")


def test_a_dpo_approves_a_share_with_the_keyboard_alone(tab, official, record, upload):
    clip_id = upload("birzai", record("birzai-market", seconds=3, ended_ago=timedelta(minutes=23)))["clip_id"]
    investigator = official("investigator", "birzai")
    body = {"site_id": "birzai", "reference": f"LT-KEYS-{time.time_ns()}", "reason": "pickpocketing at the market"}
    case_id = investigator.post("/cases", body).expect(201)["case_id"]
    investigator.post(f"/cases/{case_id}/holds", {"clip_ids": [clip_id]}).expect(200)
    share = {
        "case_id": case_id,
        "clip_ids": [clip_id],
        "recipient": f"Biržai police, keyboard check {time.time_ns()}",
        "purpose": "pre-trial investigation of the pickpocketing",
        "expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    }
    share_id = investigator.post("/shares", share).expect(201)["share_id"]

    keyboard_login(tab, "dpo-birzai")
    tab_to(tab, tab.page.get_by_role("link", name="Data protection"))
    tab.page.keyboard.press("Enter")
    tab_to(tab, tab.page.locator(f"[data-share='{share_id}']").get_by_role("button", name="Approve"), presses=120)
    tab.page.keyboard.press("Enter")
    expect(tab.page.get_by_test_id("shown-once")).to_contain_text("/console#/s/")
    tab.screenshot("share-approved-from-the-keyboard")
    assert official("dpo", "birzai").get(f"/shares/{share_id}").expect(200)["status"] == "approved"


def test_an_operator_finds_and_plays_footage_with_the_keyboard_alone(tab, record, upload):
    clip = record("birzai-market", seconds=3, ended_ago=timedelta(seconds=45))
    clip_id = upload("birzai", clip)["clip_id"]
    keys = tab.page.keyboard
    keyboard_login(tab, "operator-birzai")
    expect(tab.page.locator(".wall .tile").first).to_be_visible()

    tab_to(tab, tab.page.locator(".tile a", has_text="Market"))
    keys.press("Enter")
    at = tab.open_timeline("birzai", "birzai-market", clip.start, clip_id)
    tab.page.get_by_label("Play from (site time)").fill(at)  # the time input's segments follow the locale
    keys.press("Enter")

    dialog = tab.page.get_by_role("dialog")
    expect(dialog.get_by_label("Purpose")).to_be_focused()
    keys.type("checking a report of a stolen bicycle at the market")
    keys.press("Tab")
    keys.press("Enter")
    tab.page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3 }")
    expect(tab.page.get_by_test_id("now-playing")).to_have_attribute("data-clip", clip_id)
    tab.screenshot("played-from-the-keyboard")


def test_an_expired_url_is_renewed_without_a_second_prompt(tab, tab_factory, record, upload):
    clip = record("birzai-castle", seconds=4, ended_ago=timedelta(hours=2, minutes=23))  # no other clip near it
    clip_id = upload("birzai", clip)["clip_id"]
    purpose = "renewal check: footage of the castle gate"
    tab.page.clock.install()
    tab.log_in("dpo-birzai")
    dialog = tab.ask_to_play(tab.open_timeline("birzai", "birzai-castle", clip.start, clip_id))
    dialog.get_by_label("Purpose").fill(purpose)
    dialog.get_by_role("button", name="View").click()
    video = tab.page.locator("video")
    tab.page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3 }")
    video.evaluate("v => v.pause()")
    tab.page.clock.fast_forward("06:00")  # past the URL's five minutes, not yet 15 idle ones

    # The renewal is a view request through the local API, which serves one request at a time, behind the
    # timeline's own requests: on two cores loaded by other work that took over 20 s twice. Its URL may be the
    # first one to the letter (signed in the same second of the server's clock, which did not move): the video
    # is judged by the renewal's answer, not by its URL differing.
    def renewal_view(response) -> bool:
        return response.request.method == "POST" and response.url.endswith(f"/clips/{clip_id}/view")

    with tab.page.expect_response(renewal_view, timeout=45_000) as renewal:
        video.evaluate("v => v.play()")

    expect(video).to_have_attribute("src", renewal.value.json()["url"])
    expect(tab.page.get_by_role("dialog")).to_be_hidden()
    # Polled from here: the page's own timers run on the installed clock.
    assert eventually(lambda: video.evaluate("v => !v.error && (v.currentTime > 1 || v.ended)"))
    tab.screenshot("renewed-and-playing")
    auditor = tab_factory()
    auditor.log_in("auditor-birzai")
    auditor.go("#/audit/birzai")
    auditor.page.get_by_label("Action").fill("clip.view")
    auditor.page.get_by_role("button", name="Show events").click()
    views = auditor.page.locator("tr", has_text=f"clip:{clip_id}")
    expect(views).to_have_count(2)
    expect(views.filter(has_text=purpose)).to_have_count(2)
