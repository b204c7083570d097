"""The audit screen over a chain someone edited in DynamoDB: "verify" names the first broken event, and the
events are found by site, time window and actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from local.demo import DEMO_PASSWORD
from tests.e2e.audit_lab import edit_purpose, events_of
from tests.e2e.console.footage import RIGA

pytestmark = pytest.mark.e2e


def site_clock(moment: datetime) -> str:
    """What a datetime-local field holds, on Riga's clock (the lab sites are Aizkraukle's copies)."""
    return moment.astimezone(RIGA).strftime("%Y-%m-%dT%H:%M:%S")


def test_verify_names_the_first_broken_event_and_the_events_filter_by_site_time_and_actor(tab, lab, lab_auditor, table):
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    site = lab(4)
    after = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    victim = min(events_of(table, site), key=lambda event: (event["segment"], event["seq"]))
    edit_purpose(table, victim, "nothing to see")  # someone with table access rewrites why footage was viewed
    said = lab_auditor.get("/audit/verify", {"site": site}).expect(200)
    assert said["intact"] is False

    tab.log_in("auditor-labs", DEMO_PASSWORD)
    tab.go(f"#/audit/{site}")
    tab.page.get_by_role("button", name="Verify").click()
    verification = tab.page.get_by_test_id("verification")
    expect(verification).to_have_text(f"Broken at event {said['first_broken_seq']}: {said['problem']}")
    expect(verification).to_have_class("problem")
    tab.screenshot("audit-chain-broken")

    filters = tab.page.get_by_role("form", name="Filter the events")
    filters.get_by_label("Site").select_option(site)
    filters.get_by_label("From", exact=True).fill(site_clock(before))
    filters.get_by_label("To", exact=True).fill(site_clock(after))
    filters.get_by_label("Actor").fill("user:lab-writer")
    filters.get_by_role("button", name="Show events").click()
    rows = tab.page.locator("tbody tr", has_text="user:lab-writer")
    expect(rows).to_have_count(4)
    expect(tab.page.locator("tbody tr")).to_have_count(4)  # nobody else's events, none from outside the window
    tab.screenshot("audit-filtered-by-actor-and-time")

    filters.get_by_label("From", exact=True).fill(site_clock(after))
    filters.get_by_label("To", exact=True).fill(site_clock(after + timedelta(minutes=5)))
    filters.get_by_role("button", name="Show events").click()
    expect(tab.page.get_by_text("No events in this window.")).to_be_visible()
