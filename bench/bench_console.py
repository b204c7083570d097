"""The officials' console in Debian's Chromium against the local stack: how soon footage shows.

Run: `PYTHONPATH=. .venv/bin/python bench/bench_console.py` (after `scripts/build-console`). Starts the whole
local archive (no simulator), gives Aizkraukle 90 cameras (its real number) with one clip each, then measures:

- first frame: from the click on "View" in the purpose dialog to the video's first decoded frame
  (`loadeddata`), median of 10, against the baseline measured in the same run: the signed URL's own GET
  (the same clip's bytes, fetched by plain HTTP); the ratio is what the console adds (API view call, audit,
  player start);
- the camera wall: from navigation to every one of the 90 posters decoded, median of 5;
- what is shipped: the console's JavaScript and CSS, gzipped, apart from the API reference page's (Swagger UI,
  loaded by /api-docs alone).
"""

from __future__ import annotations

import gzip
import re
import statistics
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, sync_playwright

from gateway.clipmaker import make_clip
from gateway.uplink import Uplink, put_clip
from local import chromium
from local.api_client import ApiClient, Session
from local.aws import AwsEndpoint
from local.demo import DEMO_PASSWORD
from local.stack import ROOT, LocalArchive, LocalOptions, RunInfo

CAMERAS = 90
FIRST_FRAME_ROUNDS = 10
WALL_ROUNDS = 5
SITE = "aizkraukle"
ZONE = "Europe/Riga"


def upload_one(uplink: Uplink, camera_id: str, clip: Path, end: datetime) -> str:
    registered = uplink.register(camera_id, end - timedelta(seconds=3), end, clip)
    put_clip(registered["upload"], clip)
    deadline = time.monotonic() + 120
    while uplink.clip_state(registered["clip_id"])["status"] != "indexed":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{camera_id}'s clip was not indexed")
        time.sleep(0.1)
    return str(registered["clip_id"])


def log_in(page: Page, info: RunInfo, username: str) -> None:
    page.goto(f"{info.api_url}/console")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


_DECODED = "p => p.complete && p.naturalWidth > 0"
_IN_VIEW = "p => { const box = p.getBoundingClientRect(); return box.top < innerHeight && box.bottom > 0 }"


def wall_seconds(page: Page, info: RunInfo) -> tuple[float, float]:
    """(the first screen's posters decoded, every poster decoded after scrolling to the end): posters load
    lazily, as they come into view."""
    page.goto("about:blank")  # a fresh page each round: no poster cached in it, scrolled to the top
    started = time.perf_counter()
    page.goto(f"{info.api_url}/console#/wall/{SITE}")
    page.wait_for_function(
        f"count => {{ const posters = [...document.querySelectorAll('.wall img')];"
        f" return posters.length === count && posters.filter({_IN_VIEW}).every({_DECODED}) }}",
        arg=CAMERAS,
        timeout=60_000,
    )
    first_screen = time.perf_counter() - started
    in_view_decoded = f"() => [...document.querySelectorAll('.wall img')].filter({_IN_VIEW}).every({_DECODED})"
    height, screen = page.evaluate("() => [document.body.scrollHeight, innerHeight]")
    for top in range(screen, height, screen):  # as an operator scrolls down the wall, a screen at a time
        page.evaluate("top => window.scrollTo(0, top)", top)
        page.wait_for_function(in_view_decoded, timeout=60_000, polling=50)
    page.wait_for_function(f"() => [...document.querySelectorAll('.wall img')].every({_DECODED})", polling=50)
    return first_screen, time.perf_counter() - started


def first_frame_seconds(page: Page, camera_id: str, start: datetime) -> float:
    local = start.astimezone(ZoneInfo(ZONE))
    page.evaluate("fragment => { location.hash = fragment }", f"#/camera/{SITE}/{camera_id}?day={local.date()}")
    page.get_by_label("Show").select_option(str(local.hour))
    page.get_by_label("Play from (site time)").fill(local.strftime("%H:%M:%S"))
    page.get_by_role("button", name="Play", exact=True).click()
    page.get_by_role("dialog").get_by_label("Purpose").fill("benchmark of the first frame")
    page.evaluate(
        "() => { window.firstFrame = null; document.addEventListener('loadeddata',"
        " () => { window.firstFrame ??= performance.now() }, {capture: true}) }"
    )
    clicked = page.evaluate("() => performance.now()")
    page.get_by_role("dialog").get_by_role("button", name="View").click()
    page.wait_for_function("() => window.firstFrame !== null", timeout=30_000)
    return float(page.evaluate("() => window.firstFrame") - clicked) / 1000


def wall_answer_seconds(session: Session) -> float:
    started = time.perf_counter()
    session.get(f"/sites/{SITE}/wall").expect(200)
    return time.perf_counter() - started


def signed_get_seconds(session: Session, clip_id: str) -> float:
    url = session.post(f"/clips/{clip_id}/view", {"purpose": "benchmark baseline GET"}).expect(200)["url"]
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - a URL the local API signed
        answer.read()
    return time.perf_counter() - started


def shipped_kib() -> dict[str, float]:
    """Gzipped KiB of the console's JavaScript and CSS, and of the API reference page's (Swagger UI, loaded only
    by /api-docs): every built file is the console's but those api-docs.html loads."""
    built = ROOT / "chalicelib" / "console_assets"
    reference = set(re.findall(r'(?:src|href)="\./console/([^"]+)"', (built / "api-docs.html").read_text()))
    sizes = {"js": 0.0, "css": 0.0, "reference js": 0.0, "reference css": 0.0}
    for path in (built / "console").iterdir():
        kind = path.suffix.lstrip(".")
        if kind in ("js", "css"):
            sizes[f"reference {kind}" if path.name in reference else kind] += (
                len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1024
            )
    assert sizes["reference js"] > 0, "api-docs.html names none of the built files"
    return sizes


def row(name: str, value: float, baseline: float | None, unit: str = "s") -> str:
    ratio = f"{value / baseline:8.1f}×" if baseline else "        —"
    return f"| {name:<62} | {value:9.3f} {unit:<3}| {ratio} |"


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as workdir,
        LocalArchive(
            LocalOptions(workdir=Path(workdir), simulator=False, retention_every_s=3600, cameras={SITE: CAMERAS})
        ) as archive,
    ):
        info = archive.info
        assert info is not None
        api = ApiClient(info.api_url, AwsEndpoint(info.aws_endpoint), info.user_pool_client_id)
        cameras = info.gateways[SITE]["camera_ids"]
        uplink = Uplink(info.api_url, info.gateways[SITE]["token"])
        clip = Path(workdir) / "clip.mp4"
        make_clip(clip, seconds=3, width=640, height=360, fps=10, label="bench")
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        with ThreadPoolExecutor(max_workers=4) as pool:
            clip_ids = list(pool.map(lambda camera: upload_one(uplink, camera, clip, end), cameras))
        operator = api.login(f"operator-{SITE}", DEMO_PASSWORD)
        wall_answers = [wall_answer_seconds(operator) for _ in range(WALL_ROUNDS)]

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium.EXECUTABLE, args=chromium.ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
            log_in(page, info, f"operator-{SITE}")
            walls = [wall_seconds(page, info) for _ in range(WALL_ROUNDS)]
            frames, gets = [], []
            for round_number in range(FIRST_FRAME_ROUNDS):
                camera_id, clip_id = cameras[round_number], clip_ids[round_number]
                gets.append(signed_get_seconds(operator, clip_id))
                frames.append(first_frame_seconds(page, camera_id, end - timedelta(seconds=3)))
            browser.close()

    get_median, frame_median = statistics.median(gets), statistics.median(frames)
    sizes = shipped_kib()
    print(
        f"console benchmark: {CAMERAS} cameras, medians of {FIRST_FRAME_ROUNDS} (first frame) and {WALL_ROUNDS} (wall)"
    )
    print(f"| {'measure':<62} | {'median':>13} | {'ratio':>9} |")
    print(f"|{'-' * 64}|{'-' * 15}|{'-' * 11}|")
    print(row("baseline: the signed URL's own GET (the clip's bytes)", get_median, None))
    print(row("first frame after the purpose dialog's View", frame_median, get_median))
    wall_answer = statistics.median(wall_answers)
    print(row(f"baseline: the wall's API answer ({CAMERAS} cameras, posters signed)", wall_answer, None))
    print(row("camera wall: the first screen's posters decoded", statistics.median(w[0] for w in walls), wall_answer))
    all_posters = statistics.median(w[1] for w in walls)
    print(row(f"camera wall: all {CAMERAS} posters, scrolling a screen at a time", all_posters, None))
    print(row("the console's JavaScript, gzipped", sizes["js"], None, "KiB"))
    print(row("the console's CSS, gzipped", sizes["css"], None, "KiB"))
    print(row("the API reference page's (Swagger UI) JavaScript, gzipped", sizes["reference js"], None, "KiB"))
    print(row("the API reference page's CSS, gzipped", sizes["reference css"], None, "KiB"))
    print(f"(first frame min/max {min(frames):.3f}/{max(frames):.3f} s)")


if __name__ == "__main__":
    main()
