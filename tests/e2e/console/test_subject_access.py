"""A subject access request recorded in the console, its excerpt redacted and reviewed, and the masked export
downloaded: its manifest's sha256 values match its files, and its redaction report holds the review as made in
the browser (a box drawn on the still; on a frame of the excerpt, the requester clicked and a box drawn for part
of it). A clip the browser cannot decode says so and leaves the rest of the review usable."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.conftest import Recorded
from tests.e2e.console.footage import RIGA, debian_ffmpeg_clip

pytestmark = pytest.mark.e2e


def record_request(tab, clip, description: str) -> Locator:
    """Record a subject request whose window holds `clip`, open the clip and have what to mask found: the
    review form."""
    tab.page.get_by_role("link", name="Data protection").click()
    form = tab.page.get_by_role("form", name="Record a subject access request")
    form.get_by_label("Town square").check()
    local = "%Y-%m-%dT%H:%M:%S"
    form.get_by_label("From", exact=True).fill((clip.start - timedelta(minutes=1)).astimezone(RIGA).strftime(local))
    form.get_by_label("To", exact=True).fill((clip.end + timedelta(minutes=1)).astimezone(RIGA).strftime(local))
    form.get_by_label("Received on").fill(clip.start.astimezone(RIGA).date().isoformat())
    form.get_by_label("How to recognise the person").fill(description)
    tab.screenshot("new-request")
    form.get_by_role("button", name="Record the request").click()

    expect(tab.page.get_by_role("heading", name="Subject access request", exact=True)).to_be_visible()
    tab.page.get_by_role("button", name=clip.camera_id, exact=False).first.click()
    tab.page.get_by_role("button", name="Find faces, people and plates to mask").click()
    review = tab.page.get_by_role("form", name="Review what was found")
    expect(review).to_be_visible(timeout=120_000)
    return review


def exported_package(tab, tmp_path) -> Path:
    """Make the export of the saved review and download it: the zip, its sha256 checked against the page's."""
    tab.page.get_by_role("button", name="Make the export").click()
    download_link = tab.page.get_by_test_id("export-download")
    expect(download_link).to_be_visible(timeout=60_000)
    tab.screenshot("export-ready")
    with tab.page.expect_download() as downloading:
        download_link.click()
    package = tmp_path / "export.zip"
    downloading.value.save_as(package)
    assert hashlib.sha256(package.read_bytes()).hexdigest() == tab.page.get_by_test_id("export-sha256").inner_text()
    return package


def test_a_request_with_boxes_drawn_in_the_browser_gives_a_zip_whose_manifest_matches(tab, record, upload, tmp_path):
    # Hours before any other test's footage of the square (the session's archive is shared), so the request's
    # window holds this clip alone.
    clip = record("aizkraukle-square", seconds=3, ended_ago=timedelta(hours=3, minutes=17))
    clip_id = upload("aizkraukle", clip)["clip_id"]
    tab.log_in("dpo-aizkraukle")
    review = record_request(tab, clip, "red coat, walking a dog past the fountain")
    canvas = review.get_by_test_id("box-canvas")
    still = canvas.locator("img")
    expect(still).to_be_visible()
    still.evaluate("image => image.decode()")
    canvas.scroll_into_view_if_needed()  # below the strips of what was found
    box = canvas.bounding_box()
    assert box is not None
    assert still.evaluate("image => image.clientWidth") == 640
    tab.page.mouse.move(box["x"] + 20, box["y"] + 20)
    tab.page.mouse.down()
    tab.page.mouse.move(box["x"] + 140, box["y"] + 110, steps=5)
    tab.page.mouse.up()
    expect(review.get_by_role("list", name="Boxes to mask").get_by_role("listitem")).to_have_count(1)
    tab.screenshot("review-with-a-box-drawn")
    review.get_by_role("button", name="Save the review").click()
    package = exported_package(tab, tmp_path)

    with zipfile.ZipFile(package) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        report = json.loads(archive.read("redaction-report.json"))
        assert manifest["source"]["clip_id"] == clip_id
        assert manifest["files"], manifest
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
    assert report["reviewed_by"] == "user:dpo-aizkraukle"
    # Drawn from (20, 20) to (140, 110) on the still shown 640 px wide: in the 320×240 video's own pixels.
    (manual,) = report["manual_boxes"]
    assert {k: manual[k] for k in ("x", "y", "width", "height")} == {"x": 10, "y": 10, "width": 60, "height": 45}


def test_on_a_frame_the_requester_is_marked_by_a_click_and_a_box_drawn_for_part_of_the_excerpt(
    tab, record, upload, tmp_path
):
    """The clip maker's box is the one who moves: 48 px square, at x 68-116, y 96-144 of the 320x240 video
    one second in (frame 10 of a sweep of 40); the frame numbers and the camera's label read as plates."""
    clip = record("aizkraukle-square", seconds=3, ended_ago=timedelta(hours=3, minutes=41))
    upload("aizkraukle", clip)
    tab.log_in("dpo-aizkraukle")
    review = record_request(tab, clip, "the white square crossing the square")
    review.get_by_role("button", name="Show the excerpt frame by frame").click()
    frame = review.get_by_label("Frame of the excerpt")
    expect(frame).to_be_visible()
    slider = review.get_by_label("Frame at")
    slider.focus()
    for _ in range(10):  # the keyboard's way to one second in: ten steps of 0.1 s
        slider.press("ArrowRight")
    tab.page.wait_for_function(
        "video => Math.abs(video.currentTime - 1) < 0.01 && !video.seeking && video.readyState >= 2",
        arg=frame.element_handle(),
    )
    assert frame.evaluate("video => video.clientWidth") == 640  # the 320x240 video shown twice as big
    frame.click(position={"x": 92 * 2, "y": 120 * 2})  # the moving box's middle
    expect(review.get_by_text("Requester marked at 1.0 s (x 92, y 120).")).to_be_visible()
    expect(review.get_by_role("radio", name="This is the requester").first).to_be_disabled()

    # Someone the detectors missed, standing top right from one second in until two.
    canvas = review.get_by_test_id("frame-canvas")
    shown = canvas.bounding_box()
    assert shown is not None
    tab.page.mouse.move(shown["x"] + 500, shown["y"] + 40)
    tab.page.mouse.down()
    tab.page.mouse.move(shown["x"] + 600, shown["y"] + 200, steps=5)
    tab.page.mouse.up()
    boxes = review.get_by_role("list", name="Boxes to mask").get_by_role("listitem")
    expect(boxes).to_have_count(1)
    expect(boxes.first.get_by_label("from (s)")).to_have_value("1")
    until = boxes.first.get_by_label("to (s)")
    until.fill("2")
    until.blur()  # else the full-page screenshot's resize has the next press scroll the page to the field
    tab.screenshot("requester-clicked-and-a-box-drawn-on-a-frame")
    review.get_by_role("button", name="Save the review").click()
    expect(tab.page.get_by_text("The requester stays visible:")).to_be_visible()
    package = exported_package(tab, tmp_path)

    with zipfile.ZipFile(package) as archive:
        report = json.loads(archive.read("redaction-report.json"))
    decisions: dict[str, set[str]] = {track["kind"]: set() for track in report["tracks"]}
    for track in report["tracks"]:
        decisions[track["kind"]].add(track["decision"])
    assert decisions.pop("moving") == {"requester"}, report["tracks"]
    assert decisions and all(decided == {"masked"} for decided in decisions.values()), report["tracks"]
    assert report["counts"]["requester"] == 1
    (manual,) = report["manual_boxes"]
    assert manual == {"first_s": 1.0, "last_s": 2.0, "x": 250, "y": 20, "width": 50, "height": 80}


def test_a_clip_the_browser_cannot_decode_says_so_and_leaves_the_track_list_and_the_still(tab, upload, tmp_path):
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4, minutes=5)
    path = debian_ffmpeg_clip(tmp_path / "hevc.mp4", 3, codec="libx265")  # HEVC: Debian's Chromium has no decoder
    clip = Recorded(path, "aizkraukle-square", end - timedelta(seconds=3), end)
    assert upload("aizkraukle", clip)["status"] == "indexed"
    tab.log_in("dpo-aizkraukle")
    review = record_request(tab, clip, "the one by the test card")
    review.get_by_role("button", name="Show the excerpt frame by frame").click()

    expect(review.get_by_role("alert")).to_contain_text("cannot show this clip frame by frame")
    expect(review.get_by_test_id("box-canvas")).to_be_visible()
    expect(review.get_by_role("button", name="Save the review")).to_be_enabled()
    tab.screenshot("hevc-frames-unplayable")
