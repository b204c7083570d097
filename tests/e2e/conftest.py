"""The real local stack (moto server, template, chalice local, ingest worker), started once per session.

Tests act as a gateway (HTTP + presigned PUT) and as officials (Cognito login + HTTP), nothing else.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.audit import Outcome
from chalicelib.domain.principal import Principal, Role
from chalicelib.store.audit import AuditLog
from gateway.clipmaker import make_clip
from gateway.uplink import Uplink, put_clip, sha256_of
from local.api_client import ApiClient, Session
from local.aws import AwsEndpoint, wait_until_drained
from local.demo import DEMO_PASSWORD, Official, catalog_of, create_official, demo_sites
from local.stack import LocalArchive, LocalOptions, RunInfo

pytestmark = pytest.mark.e2e
ACCOUNT_CHECK_SECONDS = 2


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunInfo]:
    options = LocalOptions(
        workdir=tmp_path_factory.mktemp("local-archive"),
        simulator=False,
        retention_every_s=3600,  # tests sweep explicitly, with the clock they need
        # The pool's word on an account is trusted this long (60 s in production): short, so that the
        # lockout tests need not wait a minute; the rule they test is the same.
        extra_environment={"SAFE_ACCOUNT_CHECK_SECONDS": str(ACCOUNT_CHECK_SECONDS)},
        # scripts/run-tests builds the redaction function's image and names it here: the archive runs that image.
        redaction_image=os.environ.get("LOCAL_REDACTION_IMAGE") or None,
    )
    with LocalArchive(options) as running:
        assert running.info is not None
        yield running.info


@pytest.fixture(scope="session")
def aws(archive: RunInfo) -> AwsEndpoint:
    return AwsEndpoint(archive.aws_endpoint)


@pytest.fixture(scope="session")
def api(archive: RunInfo, aws: AwsEndpoint) -> ApiClient:
    return ApiClient(archive.api_url, aws, archive.user_pool_client_id)


@pytest.fixture(scope="session")
def official(api: ApiClient) -> Callable[[str, str], Session]:
    """`official("operator", "aizkraukle")`: a logged-in session of that demo user."""
    sessions: dict[tuple[str, str], Session] = {}

    def login(role: str, site: str) -> Session:
        if (role, site) not in sessions:
            sessions[(role, site)] = api.login(f"{role}-{site}", DEMO_PASSWORD)
        return sessions[(role, site)]

    return login


@pytest.fixture(scope="session")
def gateway(archive: RunInfo) -> Callable[[str], Uplink]:
    return lambda site: Uplink(archive.api_url, archive.gateways[site]["token"])


@dataclass
class Recorded:
    path: Path
    camera_id: str
    start: datetime
    end: datetime

    def registration(self, **changes: Any) -> dict[str, Any]:
        body = {
            "camera_id": self.camera_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "size": self.path.stat().st_size,
            "sha256": sha256_of(self.path),
        }
        return body | changes


_clip_counter = iter(range(1, 1_000_000))


@pytest.fixture
def record(tmp_path: Path) -> Callable[..., Recorded]:
    """Record a real H.264 clip that ended a moment ago (distinct start each call)."""

    def recorded(camera_id: str, seconds: float = 2.0, ended_ago: timedelta = timedelta(seconds=5)) -> Recorded:
        number = next(_clip_counter)
        end = datetime.now(UTC).replace(microsecond=0) - ended_ago - timedelta(seconds=number)
        start = end - timedelta(seconds=seconds)
        path = tmp_path / f"clip-{number}.mp4"
        make_clip(path, seconds=seconds, width=320, height=240, fps=10, label=f"{camera_id} #{number}")
        return Recorded(path=path, camera_id=camera_id, start=start, end=end)

    return recorded


def wait_for_status(uplink: Uplink, clip_id: str, wanted: set[str], timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll the gateway's view of a clip until it reaches one of `wanted`."""
    deadline = time.monotonic() + timeout_s
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = uplink.clip_state(clip_id)
        if state["status"] in wanted:
            return state
        time.sleep(0.2)
    raise AssertionError(f"clip {clip_id} stayed {state.get('status')} (wanted {wanted})")


@pytest.fixture
def upload(gateway: Callable[[str], Uplink]) -> Callable[..., dict[str, Any]]:
    """Register and PUT a recorded clip as its site's gateway; wait until the archive has judged it."""

    def uploaded(
        site: str, clip: Recorded, body: Path | None = None, clock_correction_s: float | None = None
    ) -> dict[str, Any]:
        uplink = gateway(site)
        registered = uplink.register(clip.camera_id, clip.start, clip.end, clip.path, clock_correction_s)
        put_clip(registered["upload"], body or clip.path)
        return wait_for_status(uplink, registered["clip_id"], {"indexed", "quarantined"})

    return uploaded


def fire(archive: RunInfo, handler: str, at: datetime) -> dict[str, Any]:
    """Run a scheduled handler once as if its schedule fired at `at`: its report."""
    report: dict[str, Any] = json.loads(archive.fire(handler, at)[-1])
    return report


def sweep_at(archive: RunInfo, at: datetime) -> None:
    """The hourly retention schedule fired as if at `at`, and every site's sweep it asked for done (the
    local jobs drain the retention queue, as Lambda's event source does)."""
    assert fire(archive, "expire_retention", at)["sites"] >= 1
    sqs = AwsEndpoint(archive.aws_endpoint).client("sqs")
    wait_until_drained(sqs, archive.environment["SAFE_RETENTION_QUEUE_URL"], timeout_s=120)


# ---- Lab sites for the audit trail's tests (written to directly, so the demo sites' chains stay intact) ----
LAB_WRITER = Principal(id="user:lab-writer", role=Role.OPERATOR, sites=frozenset())
LABS = tuple(f"audit-lab-{number}" for number in range(16))
_free_labs = iter(LABS)


@pytest.fixture(scope="session")
def table(archive, aws):
    return aws.resource("dynamodb").Table(archive.environment["SAFE_AUDIT_TABLE"])


@pytest.fixture(scope="session")
def lab_auditor(api, aws, archive):
    """An auditor of the lab sites these tests write to directly (so the demo sites' chains stay intact)."""
    create_official(aws, archive.user_pool_id, Official("auditor-labs", "auditor", LABS))
    return api.login("auditor-labs", DEMO_PASSWORD)


@pytest.fixture
def lab(aws, archive, table) -> Callable[[int], str]:
    """A fresh lab site (a real site, so its chains are digested) and a writer of `count` events into it."""
    site_id = next(_free_labs)
    catalog = catalog_of(aws, archive.environment)
    catalog.put_site(demo_sites()["aizkraukle"].model_copy(update={"site_id": site_id}))
    log = AuditLog(table, lambda site: catalog.get_site(site) is not None)

    def write(count: int) -> str:
        for number in range(count):
            log.record(
                LAB_WRITER, "clip.view", site_id, f"clip:{number}", Outcome.ALLOWED, datetime.now(UTC), purpose="lab"
            )
        return site_id

    return write
