"""An investigator opens a case, holds a clip and asks to share it; a dpo approves it, never the requester;
the recipient's link plays the clip with its sha256. Asked again for the press, the dpo redacts the share with
everyone masked before approving it, and that link offers the masked zip alone, no clip to play."""

from __future__ import annotations

import hashlib
import itertools
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from gateway.uplink import sha256_of

pytestmark = pytest.mark.e2e
_numbers = itertools.count(1)


def play_for_case(tab, clip, clip_id: str, reference: str) -> None:
    dialog = tab.ask_to_play(tab.open_timeline("aizkraukle", clip.camera_id, clip.start, clip_id))
    dialog.get_by_label("Purpose").fill(f"evidence for case {reference}")
    dialog.get_by_label("Case").select_option(label=reference)
    tab.screenshot("purpose-with-case")
    dialog.get_by_role("button", name="View").click()
    tab.page.wait_for_function("() => { const v = document.querySelector('video'); return v && v.currentTime > 0.3 }")


def test_a_held_clip_is_shared_after_a_dpo_approves_and_the_link_plays_it(tab_factory, record, upload, tmp_path):
    clip = record("aizkraukle-station", seconds=3, ended_ago=timedelta(seconds=50))
    clip_id = upload("aizkraukle", clip)["clip_id"]
    reference = f"LV-2026-{next(_numbers):03d}"
    investigator = tab_factory()
    investigator.log_in("investigator-aizkraukle")

    investigator.page.get_by_role("link", name="Cases").click()
    form = investigator.page.get_by_role("form", name="Open a case")
    form.get_by_label("Reference").fill(reference)
    form.get_by_label("Reason").fill("bicycle theft at the station forecourt")
    investigator.screenshot("open-a-case")
    form.get_by_role("button", name="Open a case").click()
    expect(investigator.page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()

    play_for_case(investigator, clip, clip_id, reference)
    hold = investigator.page.get_by_role("form", name="Hold this clip for a case")
    hold.get_by_label("Case").select_option(label=reference)
    hold.get_by_role("button", name="Hold").click()
    expect(hold.get_by_role("status")).to_have_text("Held for the case.")
    investigator.screenshot("held")

    investigator.page.go_back()  # back to the case
    investigator.page.reload()
    expect(investigator.page.get_by_role("heading", name="1 clip held")).to_be_visible()
    share = investigator.page.get_by_role("form", name="Request a share")
    share.get_by_label("Recipient").fill("Aizkraukle district prosecutor, J. Kalniņš")
    share.get_by_label("Purpose").fill(f"criminal proceedings {reference}")
    share.get_by_role("button", name="Request a share").click()
    expect(share.get_by_role("status")).to_contain_text("Requested")
    investigator.screenshot("share-requested")
    investigator.go("#/dpo/aizkraukle")  # the approval queue is not the requester's
    expect(investigator.page.get_by_role("alert")).to_have_text(re.compile("not for your role"))

    dpo = tab_factory()
    dpo.log_in("dpo-aizkraukle")
    dpo.page.get_by_role("link", name="Data protection").click()
    card = dpo.page.locator("[data-share]", has_text="J. Kalniņš").filter(has_text=reference)
    expect(card).to_be_visible()
    dpo.screenshot("awaiting-approval")
    card.get_by_role("button", name="Approve").click()
    link = dpo.page.get_by_test_id("shown-once").inner_text()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/console#/s/[A-Za-z0-9_-]{40,}", link), link
    dpo.screenshot("approved-link-shown-once")

    recipient = tab_factory()
    recipient.page.goto(link)
    video = recipient.page.locator(f"[data-clip='{clip_id}'] video")
    expect(video).to_be_visible()
    video.evaluate("v => v.play()")
    recipient.page.wait_for_function("v => v.currentTime > 0.3 && !v.error", arg=video.element_handle())
    expect(recipient.page.locator(f"[data-clip='{clip_id}'] code")).to_have_text(sha256_of(clip.path))
    recipient.screenshot("recipient-plays-the-clip")

    # The same clip for the press: the dpo redacts the share (everyone masked) before approving it.
    investigator.page.go_back()
    share.get_by_label("Recipient").fill("Aizkraukle News, editor A. Ozola")
    share.get_by_label("Purpose").fill(f"public appeal for witnesses, {reference}")
    share.get_by_role("button", name="Request a share").click()
    dpo.page.reload()
    card = dpo.page.locator("[data-share]", has_text="A. Ozola")
    card.get_by_role("link", name="Redact before sharing").click()
    dpo.page.get_by_role("button", name=clip.camera_id, exact=False).click()
    dpo.page.get_by_role("button", name="Find faces, people and plates to mask").click()
    review = dpo.page.get_by_role("form", name="Review what was found")
    expect(review).to_be_visible(timeout=120_000)
    review.get_by_label("The public or the press: everyone masked").check()
    expect(review.get_by_label("Keep visible")).to_have_count(0)  # the press: nobody stays visible
    dpo.screenshot("redacted-share-review")
    review.get_by_role("button", name="Save the review").click()
    dpo.page.get_by_role("link", name="Back to the approvals").click()
    card = dpo.page.locator("[data-share]", has_text="A. Ozola")
    expect(card).to_contain_text("Redacted share: the recipient gets the masked excerpt only.")
    card.get_by_role("button", name="Approve").click()
    press_link = dpo.page.get_by_test_id("shown-once").inner_text()

    press = tab_factory()
    press.page.goto(press_link)
    excerpt = press.page.locator(f"[data-excerpt='{clip_id}']")
    expect(excerpt).to_contain_text("everyone masked (public)")
    download = excerpt.get_by_role("link", name="Download the export")
    expect(download).to_be_visible(timeout=60_000)  # made a moment after the approval; the page looks again
    expect(press.page.locator("video")).to_have_count(0)
    press.screenshot("recipient-gets-the-masked-zip")
    with press.page.expect_download() as downloading:
        download.click()
    package = tmp_path / "press.zip"
    downloading.value.save_as(package)
    assert hashlib.sha256(package.read_bytes()).hexdigest() == excerpt.locator("code").inner_text()
    assert clip.path.read_bytes() not in package.read_bytes()
