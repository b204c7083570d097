"""Pick a moment on a camera's timeline, say why, and the footage plays on from clip to clip; every clip's
signed URL is an audited view with that purpose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from gateway.uplink import sha256_of
from tests.e2e.console.footage import back_to_back

pytestmark = pytest.mark.e2e
PURPOSE = "theft reported at the promenade, ref 2026-77"


def playing_clip(tab) -> str:
    return tab.page.get_by_test_id("now-playing").get_attribute("data-clip") or ""


def wait_playing(tab, past_s: float) -> None:
    tab.page.wait_for_function(
        "past => { const v = document.querySelector('video'); return v && !v.error && v.currentTime > past }",
        arg=past_s,
        timeout=20_000,
    )


def test_a_picked_moment_plays_after_the_purpose_and_crosses_into_the_next_clip(tab, tab_factory, upload, tmp_path):
    first, second = back_to_back(tmp_path, "aizkraukle-park", ended_ago=timedelta(seconds=40))
    # The second came from a recorder whose clock ran ahead: its gateway moved its times back.
    ids = [upload("aizkraukle", first)["clip_id"], upload("aizkraukle", second, clock_correction_s=600.0)["clip_id"]]
    tab.log_in("operator-aizkraukle")

    at = tab.open_timeline("aizkraukle", "aizkraukle-park", first.start, ids[0])
    tab.screenshot("timeline")
    dialog = tab.ask_to_play(at)
    expect(dialog).to_have_accessible_name("Why do you need this footage?")
    tab.screenshot("purpose-dialog")
    dialog.get_by_label("Purpose").fill(PURPOSE)
    dialog.get_by_role("button", name="View").click()

    wait_playing(tab, 0.5)
    assert playing_clip(tab) == ids[0]
    expect(tab.page.get_by_test_id("sha256")).to_have_text(sha256_of(first.path))
    expect(tab.page.get_by_test_id("clock-correction")).to_have_count(0)
    tab.screenshot("playing-first-clip")
    expect(tab.page.get_by_test_id("now-playing")).to_have_attribute("data-clip", ids[1], timeout=20_000)
    expect(tab.page.get_by_test_id("clock-correction")).to_contain_text("ran 600 s ahead")
    wait_playing(tab, 0.3)
    tab.screenshot("playing-next-clip")

    auditor = tab_factory()
    auditor.log_in("dpo-aizkraukle")
    auditor.go("#/audit/aizkraukle")
    auditor.page.get_by_label("Action").fill("clip.view")
    auditor.page.get_by_role("button", name="Show events").click()
    for clip_id in ids:
        row = auditor.page.locator("tr", has_text=f"clip:{clip_id}")
        expect(row).to_contain_text(PURPOSE)
        expect(row).to_contain_text("user:operator-aizkraukle")
    auditor.screenshot("audit-of-the-views")
