"""The camera wall and a camera's timeline as the API has them: posters loaded lazily, each camera's state and
last clip in the site's time (not UTC); gaps drawn by their reason, a clip's strip of stills on hover, and a
click on a clip asking why before anything plays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from local.api_client import Session
from tests.e2e.console.footage import RIGA

pytestmark = pytest.mark.e2e
STATE_TEXT = {"recording": "Recording", "silent": "Silent since"}
GAP_TEXT = {
    "quota": "Dropped: gateway storage full",
    "too_old": "Dropped: too old to upload",
    "corrupt": "Dropped: corrupt recording",
}


def site_time(iso: str, seconds: bool = True) -> str:
    """As the console writes a moment in English: day first, the site's clock."""
    return datetime.fromisoformat(iso).astimezone(RIGA).strftime("%d/%m/%Y, %H:%M" + (":%S" if seconds else ""))


def test_the_wall_loads_posters_lazily_and_shows_each_cameras_state_and_last_clip_in_site_time(tab, record, upload):
    upload("birzai", record("birzai-lake", seconds=3, ended_ago=timedelta(minutes=6)))
    # Judged against the wall the console itself was given (other tests upload to these cameras meanwhile).
    with tab.page.expect_response(lambda answer: answer.url.endswith("/sites/birzai/wall")) as answered:
        tab.log_in("operator-birzai")
    wall = answered.value.json()["cameras"]

    tiles = tab.page.locator(".wall .tile")
    expect(tiles).to_have_count(len(wall))
    tab.screenshot("wall-states-and-times")
    for camera in wall:
        tile = tab.page.locator(".wall .tile", has_text=camera["name"])
        state = tile.locator(".state")
        expect(state).to_have_attribute("data-state", camera["state"])
        if camera["last_clip_at"] is None:
            expect(state).to_have_text("Never recorded")
            continue
        expect(state).to_contain_text(STATE_TEXT[camera["state"]])
        expect(tile.locator(".last")).to_have_text(f"Last clip {site_time(camera['last_clip_at'])}")
        utc = datetime.fromisoformat(camera["last_clip_at"]).astimezone(UTC).strftime("%H:%M:%S")
        assert utc not in tile.inner_text()
    posters = tab.page.locator(".wall img")
    expect(posters.first).to_be_visible()
    assert {poster.get_attribute("loading") for poster in posters.all()} == {"lazy"}


def test_the_timeline_draws_gaps_by_reason_shows_a_clips_stills_on_hover_and_asks_why_on_a_click(
    tab, archive, official, record, upload
):
    # Twenty minutes into an hour seven hours back: the clip and the drops after it share the hour shown.
    target_end = (datetime.now(UTC) - timedelta(hours=7)).replace(minute=20, second=0, microsecond=0)
    clip = record("birzai-castle", seconds=4, ended_ago=datetime.now(UTC) - target_end)
    state = upload("birzai", clip)
    gateway = Session(archive.api_url, archive.gateways["birzai"]["token"])
    drops = [
        {
            "camera_id": "birzai-castle",
            "start": (clip.end + timedelta(minutes=1 + 2 * n)).isoformat(),
            "end": (clip.end + timedelta(minutes=2 + 2 * n)).isoformat(),
            "reason": reason,
        }
        for n, reason in enumerate(GAP_TEXT)
    ]
    assert gateway.post("/gateway/drops", {"drops": drops}).status == 204
    window = {"from": clip.start.isoformat(), "to": clip.end.isoformat()}
    listed = official("operator", "birzai").get("/cameras/birzai-castle/clips", window).expect(200)["clips"]
    stills = next(found["stills"] for found in listed if found["clip_id"] == state["clip_id"])

    tab.log_in("operator-birzai")
    tab.open_timeline("birzai", "birzai-castle", clip.start, state["clip_id"])
    bar = tab.page.get_by_test_id("timeline-bar")
    for drop in drops:
        span = f"{site_time(drop['start'])} – {site_time(drop['end'])}"
        expect(bar.locator(f".gap.{drop['reason']}")).to_have_attribute("title", f"{GAP_TEXT[drop['reason']]}: {span}")
    expect(bar.locator(".gap.silent").first).to_be_attached()  # the rest of the hour: nothing recorded

    clip_on_bar = bar.locator(f".clip[data-clip='{state['clip_id']}']")
    clip_on_bar.hover()
    strip = tab.page.get_by_test_id("strip")
    assert stills["count"] > 1
    expect(strip.get_by_role("img")).to_have_count(stills["count"])
    expect(strip.locator("figcaption")).to_have_text(
        f"{site_time(clip.start.isoformat())} – {site_time(clip.end.isoformat())}"
    )
    tab.screenshot("timeline-gaps-and-strip")

    clip_on_bar.click()
    dialog = tab.page.get_by_role("dialog")
    expect(dialog).to_have_accessible_name("Why do you need this footage?")
    expect(tab.page.locator("video")).to_have_count(0)  # nothing plays before a purpose is given
    tab.screenshot("purpose-asked-after-a-click-on-the-bar")
