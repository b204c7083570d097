"""Every console answer carries its security headers, and the browser enforces them: no inline script runs, the
console is framed nowhere, and no request for footage tells the media bucket which page asked (a signed URL in a
Referer would leak)."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def headers_of(url: str) -> tuple[int, dict[str, str]]:
    """The answer's status and headers (names in lower case), a redirect not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as refused:
        return refused.code, {k.lower(): v for k, v in refused.headers.items()}


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


def test_every_console_answer_carries_a_strict_policy_no_referrer_and_nosniff(archive):
    status, page = headers_of(f"{archive.api_url}/console")
    assert status == 200
    with urllib.request.urlopen(f"{archive.api_url}/console", timeout=30) as answer:  # noqa: S310 - our stack
        assets = re.findall(r'(?:src|href)="\./console/([^"]+)"', answer.read().decode())
    assert any(name.endswith(".js") for name in assets) and any(name.endswith(".css") for name in assets), assets
    answers = {
        "/console": page,
        "/api-docs": headers_of(f"{archive.api_url}/api-docs")[1],
        "/": headers_of(f"{archive.api_url}/")[1],
        **{f"/console/{name}": headers_of(f"{archive.api_url}/console/{name}")[1] for name in assets},
    }
    for path, headers in answers.items():
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "no-referrer", path
        assert headers.get("x-frame-options") == "DENY", path
    for path in ("/console", "/api-docs", *(f"/console/{name}" for name in assets)):
        policy = directives(answers[path]["content-security-policy"])
        assert policy["frame-ancestors"] == "'none'", path
        assert "'unsafe-inline'" not in policy.get("script-src", "") and "'unsafe-eval'" not in str(policy), path
    page_policy = directives(page["content-security-policy"])
    assert page_policy["script-src"] == "'self'" and page_policy["object-src"] == "'none'"


def test_the_browser_runs_no_inline_script_in_the_console(tab):
    tab.open()
    expect(tab.page.get_by_role("button", name="Log in")).to_be_visible()
    tab.expect_error("Content Security Policy")
    refused = tab.page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective), {once: true});
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.appendChild(script);
        })"""
    )
    assert refused.startswith("script-src")
    assert tab.page.evaluate("() => window.injected === undefined")


def test_footage_is_fetched_without_a_referer(tab, record, upload):
    # Hours from the session's other clips of the station: the moment typed in plays this clip and no other.
    clip = record("aizkraukle-station", seconds=3, ended_ago=timedelta(hours=4, minutes=7))
    clip_id = upload("aizkraukle", clip)["clip_id"]
    media: list[dict[str, str]] = []
    tab.page.on(
        "request",
        lambda request: media.append(request.headers) if request.resource_type == "media" else None,
    )
    tab.log_in("operator-aizkraukle")
    dialog = tab.ask_to_play(tab.open_timeline("aizkraukle", "aizkraukle-station", clip.start, clip_id))
    dialog.get_by_label("Purpose").fill("checking a reported collision at the bridge")
    dialog.get_by_role("button", name="View").click()
    tab.page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && !v.error && v.currentTime > 0.2 }",
        timeout=20_000,
    )
    tab.screenshot("playing-without-referer")
    assert media, "the video was fetched"
    assert [headers["referer"] for headers in media if headers.get("referer")] == []
