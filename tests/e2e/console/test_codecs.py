"""A clip the browser cannot decode (HEVC in Debian's Chromium) says so plainly and offers the audited download
to those who may download; an operator is told whom to ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Recorded
from tests.e2e.console.footage import debian_ffmpeg_clip

pytestmark = pytest.mark.e2e


def play(tab, clip: Recorded, clip_id: str) -> None:
    dialog = tab.ask_to_play(tab.open_timeline("birzai", clip.camera_id, clip.start, clip_id))
    dialog.get_by_label("Purpose").fill("checking the lake camera's footage")
    dialog.get_by_role("button", name="View").click()


def test_an_hevc_clip_says_it_cannot_play_and_offers_the_download(tab_factory, upload, tmp_path):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=70)
    path = debian_ffmpeg_clip(tmp_path / "hevc.mp4", 3, codec="libx265")
    clip = Recorded(path, "birzai-lake", end - timedelta(seconds=3), end)
    state = upload("birzai", clip)
    assert state["status"] == "indexed", state

    dpo = tab_factory()
    dpo.log_in("dpo-birzai")
    play(dpo, clip, state["clip_id"])
    alert = dpo.page.get_by_role("alert").filter(has_text="cannot play")
    expect(alert).to_contain_text("hevc")
    dpo.screenshot("hevc-cannot-play")
    with dpo.page.expect_download() as downloading:
        alert.get_by_role("button", name="Download the clip instead").click()
    saved = tmp_path / "downloaded.mp4"
    downloading.value.save_as(saved)
    assert saved.read_bytes() == path.read_bytes()

    operator = tab_factory()
    operator.log_in("operator-birzai")
    play(operator, clip, state["clip_id"])
    expect(operator.page.get_by_role("alert").filter(has_text="cannot play")).to_contain_text("may not download")
    operator.screenshot("hevc-operator-told-whom-to-ask")
