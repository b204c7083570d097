"""A case's life in the console: an investigator holds a camera window selected by dragging across the
timeline, sees the case's review date and what it holds, releases a clip; the dpo finds the case once its review
date has passed and closes it."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.console.footage import RIGA, back_to_back

pytestmark = pytest.mark.e2e
_numbers = itertools.count(1)


def reference() -> str:
    return f"LV-LIFE-{next(_numbers)}-{int(time.time()) % 100_000}"


def drag_across(page: Page, hour_start: datetime, start: datetime, end: datetime) -> None:
    """Drag the mouse across the shown hour's bar from `start` to `end`."""
    box = page.get_by_test_id("timeline-bar").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2

    def x(moment: datetime) -> float:
        return box["x"] + box["width"] * (moment - hour_start).total_seconds() / 3600

    page.mouse.move(x(start), y)
    page.mouse.down()
    page.mouse.move((x(start) + x(end)) / 2, y, steps=4)
    page.mouse.move(x(end), y, steps=4)
    page.mouse.up()


def test_an_investigator_holds_a_window_dragged_on_the_timeline_then_releases_a_clip(tab, official, upload, tmp_path):
    # Hours from the session's other clips of the square: the window holds these two clips and no other.
    first, second = back_to_back(tmp_path, "aizkraukle-square", ended_ago=timedelta(hours=5, minutes=13))
    ids = [upload("aizkraukle", first)["clip_id"], upload("aizkraukle", second)["clip_id"]]
    case_reference = reference()
    investigator = official("investigator", "aizkraukle")
    body = {"site_id": "aizkraukle", "reference": case_reference, "reason": "a fight by the fountain"}
    case_id = investigator.post("/cases", body).expect(201)["case_id"]

    tab.log_in("investigator-aizkraukle")
    tab.open_timeline("aizkraukle", "aizkraukle-square", first.start, ids[0])
    hour_start = first.start.astimezone(RIGA).replace(minute=0, second=0, microsecond=0)
    drag_across(tab.page, hour_start, first.start - timedelta(seconds=90), second.end + timedelta(seconds=90))
    expect(tab.page.get_by_test_id("selection")).to_be_visible()
    hold = tab.page.get_by_role("form", name="Hold a window of this camera for a case")
    # The selection shows while the drag is under way; the form takes the window once the button is released.
    expect(hold.get_by_label("To")).not_to_have_value("")
    chosen_from, chosen_to = hold.get_by_label("From").input_value(), hold.get_by_label("To").input_value()
    assert chosen_from < first.start.astimezone(RIGA).strftime("%H:%M:%S") < chosen_to
    assert chosen_from < second.end.astimezone(RIGA).strftime("%H:%M:%S") < chosen_to
    tab.screenshot("window-dragged-on-the-timeline")
    hold.get_by_label("Case").select_option(label=case_reference)
    hold.get_by_role("button", name="Hold").click()
    expect(hold.get_by_role("status")).to_have_text("2 clips held.")
    assert sorted(investigator.get(f"/cases/{case_id}").expect(200)["held_clips"]) == sorted(ids)

    tab.go(f"#/case/{case_id}")
    expect(tab.page.get_by_role("heading", name="2 clips held")).to_be_visible()
    review = investigator.get(f"/cases/{case_id}").expect(200)["review_date"]
    shown_review = datetime.fromisoformat(review).astimezone(RIGA).strftime("%d/%m/%Y, %H:%M")
    expect(tab.page.locator("dd", has_text=shown_review)).to_be_visible()  # in the site's time, not UTC
    tab.page.locator("li", has_text=ids[0]).get_by_role("button", name="Release").click()
    expect(tab.page.get_by_role("heading", name="1 clip held")).to_be_visible()
    tab.screenshot("case-after-a-release")
    assert investigator.get(f"/cases/{case_id}").expect(200)["held_clips"] == [ids[1]]


def test_a_dpo_finds_a_case_past_its_review_date_and_closes_it(tab, official):
    case_reference = reference()
    body = {
        "site_id": "birzai",
        "reference": case_reference,
        "reason": "graffiti on the castle bridge",
        "review_date": (datetime.now(UTC) + timedelta(seconds=2)).isoformat(),
    }
    case_id = official("investigator", "birzai").post("/cases", body).expect(201)["case_id"]

    tab.log_in("dpo-birzai")
    tab.go("#/dpo/birzai")
    due = tab.page.get_by_role("region", name="Cases past their review date")
    listed = due.get_by_role("link", name=case_reference)
    deadline = time.monotonic() + 30
    while listed.count() == 0 and time.monotonic() < deadline:
        tab.page.reload()
        expect(due).to_be_visible()
        tab.page.wait_for_load_state("networkidle")
    expect(listed).to_be_visible()
    tab.screenshot("cases-past-review")

    listed.click()
    close = tab.page.get_by_role("form", name="Close the case")
    close.get_by_label("Reason").fill("reviewed: no proceedings followed")
    close.get_by_role("button", name="Close the case").click()
    expect(tab.page.locator("dd", has_text="Closed")).to_be_visible()
    expect(tab.page.get_by_role("form", name="Close the case")).to_have_count(0)
    tab.screenshot("case-closed-by-the-dpo")
    assert official("dpo", "birzai").get(f"/cases/{case_id}").expect(200)["status"] == "closed"
