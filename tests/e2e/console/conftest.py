"""The officials' console in Debian's Chromium (Playwright drives it; no browser is downloaded), against the
same local stack the other end-to-end tests use. Every screen a test checks is saved as a screenshot in
SCREENSHOTS, and any error the page itself reports fails the test."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, expect, sync_playwright

from local import chromium as chromium_binary
from local.stack import ROOT, RunInfo
from tests.e2e.console.footage import site_day_and_hour
from tests.screenshots import SCREENSHOTS

AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
# What the console shows after an action is an API round trip through the local server, which serves one request
# at a time while other test workers load the same two cores: 5 s (Playwright's default) is not always enough.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium = playwright.chromium.launch(executable_path=chromium_binary.EXECUTABLE, args=chromium_binary.ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@dataclass
class Tab:
    """One browser tab of the console, with what its page said went wrong."""

    page: Page
    name: str
    archive: RunInfo
    errors: list[str] = field(default_factory=list)
    expected_errors: list[str] = field(default_factory=list)
    shots: int = 0

    @property
    def console_url(self) -> str:
        return f"{self.archive.api_url}/console"

    def open(self, fragment: str = "") -> None:
        self.page.goto(f"{self.console_url}{fragment}")

    def go(self, fragment: str) -> None:
        self.page.evaluate("fragment => { location.hash = fragment }", fragment)

    def log_in(self, username: str, password: str | None = None) -> None:
        self.open()
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password", exact=True).fill(password or self.password_of(username))
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.get_by_role("button", name="Log out")).to_be_visible()

    def open_timeline(self, site: str, camera_id: str, moment: datetime, clip_id: str) -> str:
        """The camera's day and hour holding `moment`, once the clip is on the bar; the moment's time of day."""
        day, hour, at = site_day_and_hour(moment)
        self.go(f"#/camera/{site}/{camera_id}?day={day}")
        self.page.get_by_label("Show").select_option(str(hour))
        expect(self.page.locator(f".bar .clip[data-clip='{clip_id}']")).to_be_visible()
        return at

    def ask_to_play(self, at: str) -> Locator:
        """Type the moment and press Play: the purpose dialog it opens."""
        self.page.get_by_label("Play from (site time)").fill(at)
        self.page.get_by_role("button", name="Play", exact=True).click()
        dialog = self.page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        return dialog

    def password_of(self, username: str) -> str:
        return str(next(o["password"] for o in self.archive.officials if o["username"] == username))

    def screenshot(self, screen: str, ours: bool = True) -> Path:
        """Save what the reviewer should look at, and check that a screen of ours has no serious accessibility
        violation (not ours: Swagger UI's markup, which we serve but do not write)."""
        self.shots += 1
        path = SCREENSHOTS / f"{self.name}--{self.shots:02d}-{screen}.png"
        self.page.screenshot(path=path, full_page=ours)
        if ours:
            self.check_accessibility(screen)
        return path

    def check_accessibility(self, screen: str) -> None:
        result: dict[str, Any] = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:120]})"
            for v in result["violations"]
            if v["impact"] in SERIOUS
        ]
        assert serious == [], f"{screen}: {json.dumps(serious, indent=1)}"

    def expect_error(self, fragment: str) -> None:
        """An error the test provokes on purpose (a refused request shows in the page's console)."""
        self.expected_errors.append(fragment)

    def unexpected_errors(self) -> list[str]:
        return [error for error in self.errors if not any(part in error for part in self.expected_errors)]


@pytest.fixture
def tab_factory(browser: Browser, archive: RunInfo, request: pytest.FixtureRequest) -> Iterator[Callable[..., Tab]]:
    """`tab_factory()`: a fresh tab (its own context: nothing shared with the others), closed after the test."""
    contexts: list[BrowserContext] = []
    tabs: list[Tab] = []

    def new_tab(**context_options: Any) -> Tab:
        options = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB"} | context_options
        context = browser.new_context(**options)
        contexts.append(context)
        # axe-core comes with every page as the browser's own script: the console's CSP (rightly) refuses any
        # inline <script> a test could add.
        context.add_init_script(path=AXE)
        page = context.new_page()
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
        tab = Tab(page=page, name=f"{name}-{len(tabs) + 1}", archive=archive)
        page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
        page.on("console", lambda message: tab.errors.append(message.text) if message.type == "error" else None)
        tabs.append(tab)
        return tab

    try:
        yield new_tab
    finally:
        for context in contexts:
            context.close()
    for tab in tabs:
        assert tab.unexpected_errors() == [], f"{tab.name}: the page reported errors"


@pytest.fixture
def tab(tab_factory: Callable[..., Tab]) -> Tab:
    return tab_factory()
