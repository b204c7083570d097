"""The public notice needs no login and reads in Latvian, Lithuanian and English; the console follows the
browser's language and can be switched."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("language", "site", "heading"),
    [
        ("lv", "aizkraukle", "Videonovērošana"),
        ("lt", "birzai", "Vaizdo stebėjimas"),
        ("en", "birzai", "CCTV in public places"),
    ],
)
def test_the_public_notice_reads_in_each_language_without_login(tab, language, site, heading):
    tab.open(f"#/notice/{site}")
    tab.page.get_by_label(re.compile("Language|Valoda|Kalba")).select_option(language)

    expect(tab.page.locator("html")).to_have_attribute("lang", language)
    expect(tab.page.get_by_role("heading", level=1)).to_contain_text(heading)
    expect(tab.page.locator("article")).to_contain_text(re.compile(r"\d+"))  # the retention in force
    assert tab.page.get_by_role("button", name=re.compile("Log out")).count() == 0
    tab.screenshot(f"notice-{site}-{language}")


def test_the_console_speaks_the_browsers_language_and_shows_site_times(tab_factory):
    latvian = tab_factory(locale="lv-LV")
    latvian.open()
    expect(latvian.page.get_by_role("button", name="Pieteikties")).to_be_visible()
    latvian.screenshot("login-in-latvian")
    latvian.page.get_by_label("Lietotājvārds").fill("dpo-aizkraukle")
    latvian.page.get_by_label("Parole", exact=True).fill(latvian.password_of("dpo-aizkraukle"))
    latvian.page.get_by_role("button", name="Pieteikties").click()
    expect(latvian.page.get_by_role("heading", name="Kameras", level=1)).to_be_visible()

    latvian.page.get_by_label("Valoda").select_option("lt")
    expect(latvian.page.get_by_role("heading", name="Kameros", level=1)).to_be_visible()
    expect(latvian.page.locator(".wall .tile").first).to_be_visible()
    latvian.screenshot("wall-switched-to-lithuanian")


def test_the_api_reference_renders_the_served_contract_from_the_archive_itself(tab):
    tab.page.goto(f"{tab.archive.api_url}/api-docs")

    # Swagger UI is 1.6 MB of script to parse before it draws anything: more than the default 5 s on 2 busy cores.
    title = tab.page.get_by_role("heading", level=1).filter(has_text="Safe Society footage archive")
    expect(title).to_be_visible(timeout=30_000)
    registration = tab.page.locator(".opblock-post .opblock-summary").filter(has_text="Register a clip")
    registration.click()
    expect(tab.page.locator(".opblock-section-request-body").first).to_contain_text("camera_id")
    tab.screenshot("api-reference", ours=False)  # its nested buttons and grey-on-grey text are upstream markup
