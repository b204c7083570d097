"""What the agent tests share: a fake archive API (the network peer) and a site with watched folders.

No tests here. The fake stands in for the archive and S3 over real HTTP on 127.0.0.1, so the agent's
own HTTP client, error typing and retries are what is exercised. It can be stopped (connections
refused), made to answer 500, refuse registrations, expire upload URLs, cut a PUT off, or withhold
the clip state, to play every outage the agent must survive.

Uploads over `multipart_above` bytes (the sealed size) go in parts of `part_size`, as the archive
does above 100 MB in 16 MiB parts: both are fields, so a test clip of a few MB is enough. The fake
logs every part PUT it sees (`part_log`), can hold one mid-body and then cut it off (`hold_part`),
abort an upload (`abort`, `abort_after_parts`) and lose a stored part before completion.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pyrage

from gateway.agent.agent import Agent
from gateway.agent.clock import iso
from gateway.agent.config import AgentConfig, parse_config
from gateway.clipmaker import make_clip

TOKEN = "gw-test-site-1." + "s" * 32
REGISTRATION_KEYS = {"camera_id", "start", "end", "size", "sha256", "sealed"}
OPTIONAL_REGISTRATION_KEYS = {"clock_correction_s"}
DROP_KEYS = {"camera_id", "start", "end", "reason"}
DROP_REASONS = ("quota", "too_old", "corrupt", "refused")
HEARTBEAT_KEYS = {
    "version",
    "spool_clips",
    "spool_bytes",
    "oldest_pending_s",
    "dropped_clips",
    "failed_clips",
    "free_disk_bytes",
    "clock_offset_s",
    "cameras",
}
SIGNED_PUT_HEADERS = {"content-length", "content-type", "x-amz-checksum-sha256"}
SIGNED_PART_HEADERS = {"content-length", "content-type", "x-amz-checksum-sha256"}
PART_CONTENT_TYPE = "application/octet-stream"


class SimulatedKill(BaseException):  # noqa: N818 - it plays SIGKILL, not an error
    """Raised inside the agent to stop it dead at a chosen point, as SIGKILL would (nothing catches it)."""


@dataclass
class FakeClip:
    clip_id: str
    registration: dict[str, Any]
    received: bool = False
    puts: int = 0
    plaintext_sha256: str | None = None
    sealed_sha256: str | None = None  # of the bytes stored (by a PUT or a completed multipart upload)
    upload_id: str | None = None  # the multipart upload the archive recorded for the clip


@dataclass
class FakeUpload:
    """An S3 multipart upload under way: the parts it holds."""

    upload_id: str
    clip_id: str
    part_sha256: list[str] = field(default_factory=list)  # declared by the gateway, signed into each part URL
    parts: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class PartPut:
    """One part PUT as the fake saw it: `stored`, `cut` (the connection died mid-body) or S3's refusal code."""

    upload_id: str
    number: int
    outcome: str


def part_sizes(total: int, part_size: int) -> list[int]:
    """The byte count of each part, in order (as the archive computes them)."""
    full, rest = divmod(total, part_size)
    return [part_size] * full + ([rest] if rest else [])


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
    state_queries: int = 0  # GET /gateway/clips/{id}: "received?"
    refused_registrations: int = 0
    batches: list[int] = field(default_factory=list)  # POST /gateway/clips/batch: the clips in each
    batch_route: bool = True  # False: an archive from before the batch route
    # Switches the tests flip to play an outage or a refusal.
    fail_with_500: bool = False
    fail_status: bool = False
    refuse_drops: bool = False
    refuse_registration: Callable[[dict[str, Any]], bool] = lambda _body: False
    expire_puts: int = 0
    refuse_puts: int = 0
    issue_expired_tickets: int = 0
    cut_puts: int = 0
    # S3 vouches for a PUT's bytes (it verified the signed checksum and answers with it), and the archive
    # then counts the clip received; False: a store that does neither, so received waits for ingest.
    received_on_put: bool = True
    date_offset_s: float = 0.0
    clock_skew_s: float = 300.0  # as the archive: an end later than its clock plus this is refused, not yet
    latency_s: float = 0.0  # added to every answer: a slow link, so kills land mid-request
    # Multipart uploads (the archive: over 100_000_000 sealed bytes, 16 MiB parts).
    multipart_above: int = 100_000_000
    part_size: int = 16 << 20
    uploads: dict[str, FakeUpload] = field(default_factory=dict)
    part_log: list[PartPut] = field(default_factory=list)
    multipart_answers: list[dict[str, Any]] = field(default_factory=list)
    completions: list[str] = field(default_factory=list)
    incomplete_completions: int = 0
    hold_part: int | None = None  # the next PUT of this part is read half, held until `release`, then cut off
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    abort_after_parts: int | None = None  # S3 aborts the upload once it holds this many parts
    lose_part_at_completion: int | None = None  # S3 loses this part before the first completion
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
        if not REGISTRATION_KEYS <= set(body) <= REGISTRATION_KEYS | OPTIONAL_REGISTRATION_KEYS or set(
            body["sealed"]
        ) != {"size", "sha256"}:
            return 400, {"error": "invalid_request", "message": f"keys {sorted(body)}"}
        archive_now = datetime.now(UTC) + timedelta(seconds=self.date_offset_s)
        if datetime.fromisoformat(body["end"]) > archive_now + timedelta(seconds=self.clock_skew_s):
            return 400, {"error": "not_yet", "message": f"end {body['end']} is in the future"}
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
            multipart = self._multipart(clip)
            upload = None if clip.received or multipart else self._ticket(clip)
        status = "uploaded" if clip.received else "registered"
        answer = {
            "clip_id": clip_id,
            "status": status,
            "received": clip.received,
            "upload": upload,
            "multipart": multipart,
            "part_size": self.part_size if multipart else None,
        }
        return (201 if created else 200), answer

    def register_batch(self, body: dict[str, Any]) -> tuple[int, Any]:
        """POST /gateway/clips/batch: each clip answered as `register` answers it alone, in order."""
        if not self.batch_route:  # what API Gateway answers for a route it does not have
            return 403, {"error": "missing_authentication_token", "message": "Missing Authentication Token"}
        clips = body.get("clips")
        if set(body) != {"clips"} or not isinstance(clips, list) or not 1 <= len(clips) <= 50:
            return 400, {"error": "invalid_request", "message": "clips: 1 to 50 registrations"}
        with self.lock:
            self.batches.append(len(clips))
        items = []
        for clip in clips:
            status, answer = self.register(clip)
            ok = status < 300
            items.append({"status": status, "clip": answer if ok else None, "refusal": None if ok else answer})
        return 200, {"clips": items}

    def _multipart(self, clip: FakeClip) -> bool:
        return not clip.received and clip.registration["sealed"]["size"] > self.multipart_above

    def _expires_at(self) -> str:
        expires = datetime.now(UTC) + timedelta(minutes=5)
        if self.issue_expired_tickets:
            self.issue_expired_tickets -= 1
            expires = datetime.now(UTC) - timedelta(seconds=30)
        return iso(expires)

    def _ticket(self, clip: FakeClip) -> dict[str, Any]:
        return {
            "url": f"{self.url}/bucket/{clip.clip_id}?X-Amz-Expires=300&X-Amz-Signature=fake",
            "method": "PUT",
            "headers": self._signed_headers(clip),
            "expires_at": self._expires_at(),
        }

    @staticmethod
    def _signed_headers(clip: FakeClip) -> dict[str, str]:
        sealed = clip.registration["sealed"]
        return {
            "Content-Length": str(sealed["size"]),
            "Content-Type": "application/octet-stream",
            "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(sealed["sha256"])).decode(),
        }

    def put(self, clip_id: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, dict[str, str]]:
        """What S3 does with a presigned PUT, plus what ingest checks (the plaintext behind the seal): the
        status, the body and the answer's headers."""
        clip = self.clips.get(clip_id)
        if clip is None:
            return 404, b"<Error><Code>NoSuchUpload</Code></Error>", {}
        refusal = self._s3_refusal(clip, headers, body)
        if refusal is not None:
            return 403 if b"expired" in refusal or b"Signature" in refusal else 400, refusal, {}
        with self.lock:
            self._store(clip, body)
            self.puts.append(clip_id)
        # S3 answers with the checksum it verified; a store that does not vouch for the bytes answers without.
        vouched = {"x-amz-checksum-sha256": headers["x-amz-checksum-sha256"]} if self.received_on_put else {}
        return 200, b"", vouched

    def _store(self, clip: FakeClip, sealed: bytes) -> None:
        """The clip's bytes are in S3: what ingest checks (the plaintext behind the seal)."""
        plaintext = pyrage.decrypt(sealed, [self.identity])
        clip.puts += 1
        clip.sealed_sha256 = hashlib.sha256(sealed).hexdigest()
        clip.plaintext_sha256 = hashlib.sha256(plaintext).hexdigest()
        clip.received = clip.received or self.received_on_put

    # multipart -----------------------------------------------------------------------------------

    def start_multipart(self, clip_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST /gateway/clips/{id}/multipart: start or resume; tickets only for the parts not stored."""
        clip = self.clips.get(clip_id)
        if set(body) != {"part_sha256"}:
            return 400, {"error": "invalid_request", "message": f"keys {sorted(body)}"}
        if clip is None:
            return 404, {"error": "not_found", "message": clip_id}
        if clip.received:
            return 409, {"error": "conflict", "message": f"clip {clip_id} is uploaded: nothing left to upload"}
        sizes = part_sizes(clip.registration["sealed"]["size"], self.part_size)
        if len(body["part_sha256"]) != len(sizes):
            return 400, {"error": "invalid_request", "message": f"{len(sizes)} parts, not {len(body['part_sha256'])}"}
        with self.lock:
            upload = self.uploads.get(clip.upload_id) if clip.upload_id else None
            if upload is not None and upload.part_sha256 != body["part_sha256"]:
                upload = None  # other parts than the upload under way's: a new one
            if upload is None:  # none yet, or aborted
                upload = FakeUpload(
                    f"U{len(self.multipart_answers) + 1:04d}-{clip_id[:8]}", clip_id, body["part_sha256"]
                )
                self.uploads[upload.upload_id] = upload
                clip.upload_id = upload.upload_id
            held = sorted(n for n, data in upload.parts.items() if n <= len(sizes) and len(data) == sizes[n - 1])
            answer = {
                "clip_id": clip_id,
                "upload_id": upload.upload_id,
                "part_size": self.part_size,
                "parts_total": len(sizes),
                "parts_stored": held,
                "parts": [
                    self._part_ticket(upload, number, size)
                    for number, size in enumerate(sizes, start=1)
                    if number not in held
                ],
            }
            self.multipart_answers.append(answer)
        return 200, answer

    def _part_ticket(self, upload: FakeUpload, number: int, size: int) -> dict[str, Any]:
        query = f"uploadId={upload.upload_id}&partNumber={number}&X-Amz-Expires=300&X-Amz-Signature=fake"
        return {
            "part_number": number,
            "url": f"{self.url}/bucket/{upload.clip_id}?{query}",
            "method": "PUT",
            "headers": {
                "Content-Length": str(size),
                "Content-Type": PART_CONTENT_TYPE,
                "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(upload.part_sha256[number - 1])).decode(),
            },
            "expires_at": self._expires_at(),
        }

    def put_part(self, upload_id: str, number: int, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        """What S3 does with a presigned UploadPart: (status, body, ETag)."""
        upload = self.uploads.get(upload_id)
        clip = self.clips.get(upload.clip_id) if upload else None
        refusal = self._part_refusal(upload, clip, number, headers, body)
        if refusal is not None:
            status, code = refusal
            message = b"Request has expired" if code == "AccessDenied" else code.encode()
            self.part_log.append(PartPut(upload_id, number, code))
            return status, b"<Error><Code>" + code.encode() + b"</Code><Message>" + message + b"</Message></Error>", ""
        assert upload is not None
        with self.lock:
            upload.parts[number] = body
            self.part_log.append(PartPut(upload_id, number, "stored"))
            if self.abort_after_parts is not None and len(upload.parts) >= self.abort_after_parts:
                self.abort_after_parts = None
                self.uploads.pop(upload_id, None)
        return 200, b"", f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'

    def _part_refusal(
        self, upload: FakeUpload | None, clip: FakeClip | None, number: int, headers: dict[str, str], body: bytes
    ) -> tuple[int, str] | None:
        if upload is None or clip is None:
            return 404, "NoSuchUpload"
        if self.expire_puts:
            self.expire_puts -= 1
            self.expired_answers += 1
            return 403, "AccessDenied"
        if self.refuse_puts:
            self.refuse_puts -= 1
            return 400, "InvalidRequest"
        sizes = part_sizes(clip.registration["sealed"]["size"], self.part_size)
        unsigned = set(headers) - SIGNED_PART_HEADERS - {"host"}
        tampered = unsigned or not 1 <= number <= len(sizes) or headers.get("content-length") != str(sizes[number - 1])
        declared = base64.b64encode(bytes.fromhex(upload.part_sha256[number - 1])).decode() if not tampered else ""
        if tampered or headers.get("x-amz-checksum-sha256") != declared:
            return 403, "SignatureDoesNotMatch"
        if headers.get("content-type") != PART_CONTENT_TYPE or len(body) != sizes[number - 1]:
            return 400, "IncompleteBody"
        # S3 checks a part's bytes against the SHA-256 signed into its URL.
        return (400, "BadDigest") if base64.b64encode(hashlib.sha256(body).digest()).decode() != declared else None

    def take_hold(self, number: int) -> bool:
        with self.lock:
            if self.hold_part != number:
                return False
            self.hold_part = None
            return True

    def complete_multipart(self, clip_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST …/multipart/complete: assemble the parts S3 holds if every one is there, else 409."""
        clip = self.clips.get(clip_id)
        if body != {}:
            return 400, {"error": "invalid_request", "message": f"keys {sorted(body)}"}
        if clip is None:
            return 404, {"error": "not_found", "message": clip_id}
        with self.lock:
            upload = self.uploads.get(clip.upload_id) if clip.upload_id and not clip.received else None
            if upload is None:
                return 409, {"error": "conflict", "message": f"clip {clip_id} has no multipart upload under way"}
            if self.lose_part_at_completion is not None:
                upload.parts.pop(self.lose_part_at_completion, None)
                self.lose_part_at_completion = None
            sizes = part_sizes(clip.registration["sealed"]["size"], self.part_size)
            missing = [n for n, size in enumerate(sizes, start=1) if len(upload.parts.get(n, b"")) != size]
            if missing:
                self.incomplete_completions += 1
                return 409, {"error": "conflict", "message": f"parts {missing} are not stored yet"}
            del self.uploads[upload.upload_id]  # S3 forgets a completed upload
            self._store(clip, b"".join(upload.parts[n] for n in range(1, len(sizes) + 1)))
            self.completions.append(clip_id)
        return 200, {"clip_id": clip_id, "parts": len(sizes)}

    def abort(self, clip_id: str) -> None:
        """S3 aborts the clip's multipart upload (a lifecycle rule): its parts are gone."""
        with self.lock:
            clip = self.clips[clip_id]
            if clip.upload_id:
                self.uploads.pop(clip.upload_id, None)

    def part_puts(self, outcome: str | None = None) -> Counter[int]:
        """Part PUTs per part number (those with `outcome` only, if given)."""
        return Counter(put.number for put in self.part_log if outcome is None or put.outcome == outcome)

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
        self.state_queries += 1
        clip = self.clips.get(clip_id)
        if clip is None:
            return 404, {"error": "not_found", "message": clip_id}
        status = "uploaded" if clip.received else "registered"
        return 200, {
            "clip_id": clip_id,
            "status": status,
            "received": clip.received,
            "multipart": self._multipart(clip),
            "quarantine_reason": None,
        }

    def report_drops(self, body: dict[str, Any]) -> tuple[int, Any]:
        drops = body.get("drops")
        if set(body) != {"drops"} or not isinstance(drops, list) or self.refuse_drops:
            return 400, {"error": "invalid_request", "message": "drops refused"}
        for drop in drops:
            if not DROP_KEYS <= set(drop) <= DROP_KEYS | {"detail"} or drop["reason"] not in DROP_REASONS:
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

    def _answer(
        self,
        status: int,
        body: Any,
        content_type: str = "application/json",
        etag: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        time.sleep(self.archive.latency_s)
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        if etag:
            self.send_header("ETag", etag)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
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
        routes: dict[str, Callable[[dict[str, Any]], tuple[int, Any]]] = {
            "/gateway/clips": self.archive.register,
            "/gateway/clips/batch": self.archive.register_batch,
            "/gateway/drops": self.archive.report_drops,
            "/gateway/heartbeat": self.archive.heartbeat,
        }
        clip_id, _, action = self.path.removeprefix("/gateway/clips/").partition("/")
        if self.path.startswith("/gateway/clips/") and action == "multipart":
            routes[self.path] = lambda body: self.archive.start_multipart(clip_id, body)
        elif self.path.startswith("/gateway/clips/") and action == "multipart/complete":
            routes[self.path] = lambda body: self.archive.complete_multipart(clip_id, body)
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
        target, _, query = self.path.partition("?")
        params = parse_qs(query)
        number = int(params["partNumber"][0]) if "partNumber" in params else None
        if number is not None and self.archive.take_hold(number):
            self._held_put(params["uploadId"][0], number)
            return
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
        headers = {key.lower(): value for key, value in self.headers.items()}
        if number is not None:
            status, answer, etag = self.archive.put_part(params["uploadId"][0], number, headers, body)
            self._answer(status, answer, "application/xml", etag)
            return
        status, answer, answer_headers = self.archive.put(target.removeprefix("/bucket/"), headers, body)
        self._answer(status, answer, "application/xml", headers=answer_headers)

    def _held_put(self, upload_id: str, number: int) -> None:
        """Read half the part, wait for `release` (the test kills the agent meanwhile), then cut it off."""
        self.rfile.read(int(self.headers.get("Content-Length", "0")) // 2)
        self.archive.held.set()
        self.archive.release.wait(timeout=30)
        with self.archive.lock:
            self.archive.part_log.append(PartPut(upload_id, number, "cut"))
        self.close_connection = True
        self.connection.shutdown(2)


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

    def record(
        self, camera_id: str = "cam-a", *, ended_ago: timedelta = timedelta(minutes=1), padding: int = 0
    ) -> Path:
        """Write a real 1 s H.264 clip into the camera's folder as an NVR would: elsewhere, then renamed in.

        `padding` grows it by that many bytes with an ISO-BMFF `free` box: still a valid MP4, as large
        as a test of multipart uploads needs.
        """
        self.clips_made += 1
        folder = self.watch_dir(camera_id)
        scratch = self.root / "scratch" / f"{self.clips_made}.mp4"
        make_clip(scratch, seconds=1.0, width=160, height=120, fps=10, label=f"{camera_id} {self.clips_made}")
        if padding:
            with scratch.open("ab") as grown:
                grown.write(struct.pack(">I4s", padding + 8, b"free"))
                grown.write(random.Random(self.clips_made).randbytes(padding))  # noqa: S311 - filler
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
