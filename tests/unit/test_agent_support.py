"""What the agent tests share: a fake archive API (the network peer) and a site with watched folders.

No tests here. The fake stands in for the archive and S3 over real HTTP on 127.0.0.1, so the agent's
own HTTP client, error typing and retries are what is exercised. It can be stopped (connections
refused), made to answer 500, refuse registrations, expire upload URLs, cut a PUT off, or withhold
the clip state, to play every outage the agent must survive.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyrage

from gateway.agent.agent import Agent
from gateway.agent.clock import iso
from gateway.agent.config import AgentConfig, parse_config
from gateway.clipmaker import make_clip

TOKEN = "gw-test-site-1." + "s" * 32
REGISTRATION_KEYS = {"camera_id", "start", "end", "size", "sha256", "sealed"}
HEARTBEAT_KEYS = {
    "version",
    "spool_clips",
    "spool_bytes",
    "oldest_pending_s",
    "dropped_clips",
    "free_disk_bytes",
    "clock_offset_s",
    "cameras",
}
SIGNED_PUT_HEADERS = {"content-length", "content-type", "x-amz-checksum-sha256"}


class SimulatedKill(BaseException):  # noqa: N818 - it plays SIGKILL, not an error
    """Raised inside the agent to stop it dead at a chosen point, as SIGKILL would (nothing catches it)."""


@dataclass
class FakeClip:
    clip_id: str
    registration: dict[str, Any]
    received: bool = False
    puts: int = 0
    plaintext_sha256: str | None = None


@dataclass
class FakeArchive:
    identity: Any
    token: str = TOKEN
    clips: dict[str, FakeClip] = field(default_factory=dict)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    puts: list[str] = field(default_factory=list)
    drops: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    expired_answers: int = 0
    refused_registrations: int = 0
    # Switches the tests flip to play an outage or a refusal.
    fail_with_500: bool = False
    fail_status: bool = False
    refuse_drops: bool = False
    refuse_registration: Callable[[dict[str, Any]], bool] = lambda _body: False
    expire_puts: int = 0
    refuse_puts: int = 0
    issue_expired_tickets: int = 0
    cut_puts: int = 0
    received_on_put: bool = True
    date_offset_s: float = 0.0
    latency_s: float = 0.0  # added to every answer: a slow link, so kills land mid-request
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again on the same port after `stop`, so the agent's configured URL stays right)."""
        self._server = _QuietServer(("127.0.0.1", self.port), _handler_for(self))
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[FakeClip]:
        return [clip for clip in self.clips.values() if clip.received]

    def registered_for(self, sha256: str) -> list[dict[str, Any]]:
        return [body for body in self.registrations if body["sha256"] == sha256]

    # the routes ----------------------------------------------------------------------------------

    def register(self, body: dict[str, Any]) -> tuple[int, Any]:
        if set(body) != REGISTRATION_KEYS or set(body["sealed"]) != {"size", "sha256"}:
            return 400, {"error": "invalid_request", "message": f"keys {sorted(body)}"}
        if self.refuse_registration(body):
            self.refused_registrations += 1
            return 403, {"error": "forbidden", "message": "camera is not one of this gateway's cameras"}
        identity = f"{body['camera_id']}|{body['start']}|{body['sha256']}"
        clip_id = "C" + hashlib.sha256(identity.encode()).hexdigest()[:25].upper()
        with self.lock:
            self.registrations.append(body)
            clip = self.clips.get(clip_id)
            created = clip is None
            if clip is None:
                clip = self.clips[clip_id] = FakeClip(clip_id, body)
            elif clip.registration != body:
                return 409, {"error": "conflict", "message": "another registration under this id"}
            upload = None if clip.received else self._ticket(clip)
        status = "uploaded" if clip.received else "registered"
        return (201 if created else 200), {"clip_id": clip_id, "status": status, "upload": upload}

    def _ticket(self, clip: FakeClip) -> dict[str, Any]:
        expires = datetime.now(UTC) + timedelta(minutes=5)
        if self.issue_expired_tickets:
            self.issue_expired_tickets -= 1
            expires = datetime.now(UTC) - timedelta(seconds=30)
        return {
            "url": f"{self.url}/bucket/{clip.clip_id}?X-Amz-Expires=300&X-Amz-Signature=fake",
            "method": "PUT",
            "headers": self._signed_headers(clip),
            "expires_at": iso(expires),
        }

    @staticmethod
    def _signed_headers(clip: FakeClip) -> dict[str, str]:
        sealed = clip.registration["sealed"]
        return {
            "Content-Length": str(sealed["size"]),
            "Content-Type": "application/octet-stream",
            "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(sealed["sha256"])).decode(),
        }

    def put(self, clip_id: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """What S3 does with a presigned PUT, plus what ingest checks (the plaintext behind the seal)."""
        clip = self.clips.get(clip_id)
        if clip is None:
            return 404, b"<Error><Code>NoSuchUpload</Code></Error>"
        refusal = self._s3_refusal(clip, headers, body)
        if refusal is not None:
            return 403 if b"expired" in refusal or b"Signature" in refusal else 400, refusal
        plaintext = pyrage.decrypt(body, [self.identity])
        with self.lock:
            clip.puts += 1
            clip.plaintext_sha256 = hashlib.sha256(plaintext).hexdigest()
            clip.received = clip.received or self.received_on_put
            self.puts.append(clip_id)
        return 200, b""

    def _s3_refusal(self, clip: FakeClip, headers: dict[str, str], body: bytes) -> bytes | None:
        """S3's XML error for this PUT, or None if S3 would store it."""
        if self.expire_puts:
            self.expire_puts -= 1
            self.expired_answers += 1
            return b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        if self.refuse_puts:
            self.refuse_puts -= 1
            return b"<Error><Code>InvalidRequest</Code><Message>refused for the test</Message></Error>"
        extra = set(headers) - SIGNED_PUT_HEADERS - {"host"}
        if extra:
            return f"<Error><Code>Unsigned</Code><Message>{sorted(extra)}</Message></Error>".encode()
        if any(headers.get(key.lower()) != value for key, value in self._signed_headers(clip).items()):
            return b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
        if base64.b64encode(hashlib.sha256(body).digest()).decode() != headers["x-amz-checksum-sha256"]:
            return b"<Error><Code>BadDigest</Code></Error>"
        return None

    def clip_state(self, clip_id: str) -> tuple[int, Any]:
        clip = self.clips.get(clip_id)
        if clip is None:
            return 404, {"error": "not_found", "message": clip_id}
        status = "uploaded" if clip.received else "registered"
        return 200, {"clip_id": clip_id, "status": status, "received": clip.received, "quarantine_reason": None}

    def report_drops(self, body: dict[str, Any]) -> tuple[int, Any]:
        drops = body.get("drops")
        if set(body) != {"drops"} or not isinstance(drops, list) or self.refuse_drops:
            return 400, {"error": "invalid_request", "message": "drops refused"}
        for drop in drops:
            if set(drop) != {"camera_id", "start", "end", "reason"} or drop["reason"] not in (
                "quota",
                "too_old",
                "corrupt",
            ):
                return 400, {"error": "invalid_request", "message": f"bad drop {drop}"}
        with self.lock:
            self.drops += drops
        return 204, None

    def heartbeat(self, body: dict[str, Any]) -> tuple[int, Any]:
        if set(body) != HEARTBEAT_KEYS:
            return 400, {"error": "invalid_request", "message": f"keys {sorted(body)}"}
        with self.lock:
            self.heartbeats.append(body)
        return 204, None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client killed mid-request (the SIGKILL tests) is expected; anything else is the fake's bug.
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to `archive` (set on a per-archive subclass by `_handler_for`)."""

    archive: FakeArchive
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the tests read the archive's records, not its access log."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(datetime.now(UTC).timestamp() + self.archive.date_offset_s, usegmt=True)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        time.sleep(self.archive.latency_s)
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _gateway(self) -> bool:
        if self.archive.fail_with_500:
            self._body()
            self._answer(500, {"error": "internal", "message": "down for maintenance"})
            return False
        if self.headers.get("Authorization") != f"Bearer {self.archive.token}":
            self._body()
            self._answer(401, {"error": "unauthorized", "message": "unknown gateway or wrong secret"})
            return False
        return True

    def do_POST(self) -> None:
        if not self._gateway():
            return
        body = json.loads(self._body())
        routes = {
            "/gateway/clips": self.archive.register,
            "/gateway/drops": self.archive.report_drops,
            "/gateway/heartbeat": self.archive.heartbeat,
        }
        route = routes.get(self.path)
        self._answer(*(route(body) if route else (404, {"error": "not_found", "message": self.path})))

    def do_GET(self) -> None:
        if not self._gateway():
            return
        if self.archive.fail_status:
            self._answer(503, {"error": "unavailable", "message": "try later"})
            return
        self._answer(*self.archive.clip_state(self.path.removeprefix("/gateway/clips/")))

    def do_PUT(self) -> None:
        body = self._body()
        if self.archive.fail_with_500:
            self._answer(500, b"<Error><Code>InternalError</Code></Error>", "application/xml")
            return
        if self.archive.cut_puts:
            # The connection dies mid-upload: nothing stored, no answer.
            self.archive.cut_puts -= 1
            self.close_connection = True
            self.connection.shutdown(2)
            return
        clip_id = self.path.removeprefix("/bucket/").partition("?")[0]
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, answer = self.archive.put(clip_id, headers, body)
        self._answer(status, answer, "application/xml")


def _handler_for(archive: FakeArchive) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"archive": archive})


@dataclass
class Site:
    """A gateway's surroundings: watched folders, a spool, the site key pair and the fake archive."""

    root: Path
    identity: Any
    archive: FakeArchive
    config: AgentConfig
    clips_made: int = 0

    def watch_dir(self, camera_id: str = "cam-a") -> Path:
        return self.root / "nvr" / camera_id

    def agent(self, **options: Any) -> Agent:
        return Agent(self.config, rng=random.Random(7), **options)  # noqa: S311 - jitter, seeded to repeat

    def record(self, camera_id: str = "cam-a", *, ended_ago: timedelta = timedelta(minutes=1)) -> Path:
        """Write a real 1 s H.264 clip into the camera's folder as an NVR would: elsewhere, then renamed in."""
        self.clips_made += 1
        folder = self.watch_dir(camera_id)
        scratch = self.root / "scratch" / f"{self.clips_made}.mp4"
        make_clip(scratch, seconds=1.0, width=160, height=120, fps=10, label=f"{camera_id} {self.clips_made}")
        path = folder / f"{self.clips_made:04d}.mp4"
        scratch.replace(path)
        # Distinct, ordered end times: clips made later are newer, whatever the filesystem's clock does.
        ended = datetime.now(UTC) - ended_ago + timedelta(seconds=self.clips_made)
        os.utime(path, ns=(int(ended.timestamp() * 1e9), int(ended.timestamp() * 1e9)))
        return path


def make_site(root: Path, **overrides: Any) -> Site:
    identity = pyrage.x25519.Identity.generate()
    archive = FakeArchive(identity)
    archive.start()
    for camera_id in ("cam-a", "cam-b"):
        (root / "nvr" / camera_id).mkdir(parents=True)
    (root / "scratch").mkdir()
    raw: dict[str, Any] = {
        "api_url": archive.url,
        "token": TOKEN,
        "site_recipient": str(identity.to_public()),
        "spool_dir": str(root / "spool"),
        "quota_bytes": 100_000_000,
        "max_clip_age_days": 7,
        "heartbeat_seconds": 30,
        "refusal_delay_seconds": 1,
        # Taken at the second poll, quarantined at once: the tests that need the waits set them.
        "settle_seconds": 0,
        "quarantine_after_seconds": 0,
        "request_timeout_seconds": 5,
        "upload_timeout_seconds": 5,
        "cameras": [
            {"camera_id": "cam-a", "watch_dir": str(root / "nvr" / "cam-a")},
            {"camera_id": "cam-b", "watch_dir": str(root / "nvr" / "cam-b")},
        ],
    }
    raw.update(overrides)
    return Site(root=root, identity=identity, archive=archive, config=parse_config(raw))


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


def now() -> datetime:
    return datetime.now(UTC)


def later(seconds: float = 60.0) -> datetime:
    """A time past any backoff the tests provoke, yet well within an upload URL's 5 minutes."""
    return datetime.now(UTC) + timedelta(seconds=seconds)


def settle(agent: Agent, now: datetime, rounds: int = 2) -> None:
    """Run enough steps for watched files to be seen twice (stable) and taken."""
    for _ in range(rounds):
        agent.run_once(now)
