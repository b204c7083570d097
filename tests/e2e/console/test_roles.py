"""Each role logs in and sees exactly its screens; a site's officials never see another site's footage."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SCREENS = {
    "operator": ["Cameras"],
    "investigator": ["Cameras", "Cases"],
    "dpo": ["Cameras", "Cases", "Data protection", "Audit trail"],
    "auditor": ["Audit trail"],
    "admin": ["Administration"],
}
HOME_HEADING = {
    "operator": "Cameras",
    "investigator": "Cameras",
    "dpo": "Cameras",
    "auditor": "Audit trail",
    "admin": "Administration",
}


@pytest.mark.parametrize("role", list(SCREENS))
def test_each_role_sees_exactly_its_screens(tab, role):
    tab.log_in(f"{role}-aizkraukle")

    navigation = tab.page.get_by_role("navigation", name="Main navigation")
    expect(navigation.get_by_role("link")).to_have_text(SCREENS[role])
    expect(tab.page.get_by_role("heading", level=1)).to_have_text(HOME_HEADING[role])
    tab.screenshot(f"home-of-{role}")


def test_the_wall_shows_only_the_callers_site(tab):
    tab.log_in("operator-aizkraukle")

    tiles = tab.page.locator(".wall .tile .name")
    expect(tiles.first).to_be_visible()
    names = tiles.all_inner_texts()
    tab.screenshot("wall-of-aizkraukle")

    assert names and all("Biržai" not in name for name in names)
    for poster in tab.page.locator(".wall img").all():
        assert "/aizkraukle/" in (poster.get_attribute("src") or "")


@pytest.mark.parametrize("fragment", ["#/camera/birzai/birzai-lake", "#/wall/birzai"])
def test_an_aizkraukle_operator_never_sees_a_birzai_camera_even_by_typing_its_url(tab, fragment):
    tab.log_in("operator-aizkraukle")
    tab.expect_error("status of 403")
    tab.expect_error("status of 404")

    tab.go(fragment)

    expect(tab.page.get_by_role("alert").first).to_be_visible()
    expect(tab.page.locator(".wall img, video, .bar .clip")).to_have_count(0)
    tab.screenshot("refused-other-site")


def test_an_admin_meets_no_footage_anywhere(tab):
    tab.log_in("admin-aizkraukle")
    expect(tab.page.get_by_role("heading", name="Gateways")).to_be_visible()
    tab.screenshot("admin-screen")
    assert tab.page.locator("img, video").count() == 0

    for fragment in ("#/wall/aizkraukle", "#/camera/aizkraukle/aizkraukle-square"):
        tab.go(fragment)
        expect(tab.page.get_by_role("alert")).to_have_text(re.compile("not for your role"))
        assert tab.page.locator("img, video").count() == 0
    tab.screenshot("admin-typed-a-camera-url")
