"""The archive's gateway API and the presigned PUT, with errors typed by what the agent should do next.

    NetworkError   the archive was not reached or said "not now" (refused/reset connection, timeout,
                   TLS or DNS failure, 5xx, 408, 429, a garbled answer): retry with backoff, for ever.
    Unauthorized   401: the gateway's own credential was refused. Every call would fail alike, so it
                   is no clip's fault: back off and shout, but charge no clip's refusal budget.
    UploadExpired  the presigned URL's time is up (S3: 403 "Request has expired"): register again
                   (or, for a part, ask for the multipart upload again) for a fresh URL; not a failure.
    Refused        any other 4xx: a definite "no" that counts toward the clip's refusal budget.

Plain http.client rather than urllib: the PUT must carry exactly the signed headers (urllib adds a
Content-Type and would send a file body chunked, which S3 refuses for presigned PUTs). Behind a site
proxy every request goes through a CONNECT tunnel to its host (the API's or S3's); a proxy that refuses
the tunnel, or cannot reach the host, is a NetworkError like any other outage.

Clips over 100 MB go in parts: `register` answers `multipart` instead of a ticket, `start_multipart`
starts or resumes the upload with tickets for the parts S3 lacks, `put_part` streams one part from the
sealed file, `complete_multipart` has the archive assemble them.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeIs
from urllib.parse import quote, urlsplit

from gateway.agent import __version__
from gateway.agent.clock import parse_iso
from gateway.agent.config import HttpProxy
from gateway.agent.spool import Registration, SealedFile

USER_AGENT = f"safe-society-gateway/{__version__}"
_TRANSIENT_STATUSES = frozenset({408, 429})
_EXPIRED = b"request has expired"
# Bytes read from a file and sent a time: http.client's 8 KiB makes a 3.3 MB clip 400 reads and sends (a PUT on
# loopback took 5.2 ms of CPU, sender and receiver together, against 2.1 ms at 256 KiB, the cheapest of 8 KiB-1 MiB).
SEND_BLOCK = 256 * 1024
_S3_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_S3_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")
_CHECKSUM_HEADER = "x-amz-checksum-sha256"
# What the current archive reports for a clip whose bytes it holds, for answers without `received`.
_RECEIVED_STATUSES = frozenset({"uploaded", "indexed", "quarantined", "expired", "erased"})


class ApiError(Exception):
    pass


class NetworkError(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class UploadExpired(ApiError):
    pass


class Refused(ApiError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadTicket:
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime | None

    def expired(self, server_now: datetime, margin: timedelta = timedelta(seconds=5)) -> bool:
        return self.expires_at is not None and self.expires_at <= server_now + margin


@dataclass(frozen=True)
class Registered:
    clip_id: str
    status: str
    upload: UploadTicket | None
    # No ticket and multipart: the bytes are still wanted, in parts of `part_size` (see `start_multipart`).
    multipart: bool = False
    part_size: int | None = None
    # The archive already holds exactly these bytes (an earlier PUT whose answer was lost): nothing to send.
    received: bool = False


@dataclass(frozen=True)
class ArchiveClip:
    clip_id: str
    status: str
    received: bool
    quarantine_reason: str | None
    multipart: bool = False


@dataclass(frozen=True)
class PartTicket:
    number: int
    ticket: UploadTicket


@dataclass(frozen=True)
class MultipartPlan:
    """The archive's answer to POST …/multipart: what S3 holds of the upload and tickets for the rest."""

    clip_id: str
    upload_id: str
    part_size: int
    parts_total: int
    parts_stored: tuple[int, ...]
    parts: tuple[PartTicket, ...]

    def span(self, number: int, total_size: int) -> tuple[int, int]:
        """Part `number`'s (offset, length) in a file of `total_size` bytes: [(n-1)·part_size, n·part_size)."""
        offset = (number - 1) * self.part_size
        return offset, max(0, min(self.part_size, total_size - offset))


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Window:
    """At most `length` bytes of `handle` from where it stands: one part streamed, never held whole."""

    def __init__(self, handle: BinaryIO, length: int) -> None:
        self._handle = handle
        self._left = length

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        data = self._handle.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Message
    body: bytes


class ArchiveApi:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        upload_timeout_s: float = 300.0,
        proxy: HttpProxy | None = None,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._proxy = proxy
        self._token = token
        self._timeout_s = timeout_s
        self._upload_timeout_s = upload_timeout_s
        self._tls = ssl.create_default_context()
        self._lock = threading.Lock()
        self._clock_offset_s: float | None = None

    @property
    def clock_offset_s(self) -> float | None:
        """Archive clock minus ours, in seconds, from the last API answer's Date header (None: no answer yet)."""
        with self._lock:
            return self._clock_offset_s

    # the gateway API --------------------------------------------------------------------------------

    def register(self, registration: Registration, sealed: SealedFile) -> Registered:
        """POST /gateway/clips: the same registration always returns the same clip."""
        return _registered(self._json("POST", "/gateway/clips", _registration_body(registration, sealed)))

    def register_batch(self, clips: list[tuple[Registration, SealedFile]]) -> list[Registered | Refused]:
        """POST /gateway/clips/batch: each clip answered, in order, as `register` would answer it alone, a
        clip's refusal (4xx) its own (as the Refused `register` would raise); the request itself may fail as
        any other (a 4xx for the whole batch is a Refused raised)."""
        answer = self._json("POST", "/gateway/clips/batch", {"clips": [_registration_body(*clip) for clip in clips]})
        items = answer.get("clips") if isinstance(answer, dict) else None
        if not isinstance(items, list) or len(items) != len(clips) or not all(isinstance(i, dict) for i in items):
            raise NetworkError(f"batch answer without one item per clip: {str(answer)[:200]}")
        return [_batch_item(item) for item in items]

    def clip_state(self, clip_id: str) -> ArchiveClip:
        """GET /gateway/clips/{clip_id}: has the archive got the bytes?"""
        answer = self._json("GET", f"/gateway/clips/{quote(clip_id, safe='')}")
        if not isinstance(answer, dict):
            raise NetworkError(f"clip state answer is not an object: {str(answer)[:200]}")
        status = str(answer.get("status", ""))
        received = answer.get("received")
        return ArchiveClip(
            clip_id=str(answer.get("clip_id", clip_id)),
            status=status,
            received=received if isinstance(received, bool) else status in _RECEIVED_STATUSES,
            quarantine_reason=answer.get("quarantine_reason"),
            multipart=answer.get("multipart") is True,
        )

    def start_multipart(self, clip_id: str, part_sha256: list[str]) -> MultipartPlan:
        """POST /gateway/clips/{clip_id}/multipart with each part's sha256: start the upload, or resume the one
        under way (a new one if it was aborted); tickets, each with its part's sha256 signed in, only for the
        parts S3 does not hold yet."""
        path = f"/gateway/clips/{quote(clip_id, safe='')}/multipart"
        return _plan(self._json("POST", path, {"part_sha256": part_sha256}), clip_id)

    def complete_multipart(self, clip_id: str) -> None:
        """POST …/multipart/complete: 200 once every part is stored; 409 (Refused) if some are missing."""
        self._json("POST", f"/gateway/clips/{quote(clip_id, safe='')}/multipart/complete", {})

    def report_drops(self, drops: list[dict[str, str]]) -> None:
        """POST /gateway/drops → 204."""
        self._json("POST", "/gateway/drops", {"drops": drops})

    def heartbeat(self, body: dict[str, Any]) -> None:
        """POST /gateway/heartbeat → 204."""
        self._json("POST", "/gateway/heartbeat", body)

    # the presigned PUT ------------------------------------------------------------------------------

    def put(self, ticket: UploadTicket, path: Path) -> bool:
        """PUT the file at `path` to the ticket's URL with exactly its headers (plus Host); whether S3
        vouches for the bytes (see `_vouched`).

        The file is opened here, outside the network error handling: a missing or unreadable sealed
        file is the clip's problem (OSError), not an outage to wait out.
        """
        with path.open("rb") as sealed:
            size = os.fstat(sealed.fileno()).st_size
            headers = _with_length(ticket, size, f"the sealed file has {size}")
            answer = self._exchange(ticket.url, ticket.method, headers, sealed, self._upload_timeout_s)
        _raise_for(answer, upload=True)
        return _vouched(ticket, answer)

    def put_part(self, ticket: UploadTicket, path: Path, offset: int, length: int) -> str | None:
        """PUT bytes [offset, offset + length) of the file at `path` as one part; S3's ETag.

        Streamed from the file (a part is 16 MiB); as for `put`, an unreadable file is an OSError.
        """
        with path.open("rb") as sealed:
            size = os.fstat(sealed.fileno()).st_size
            if length <= 0 or offset + length > size:
                raise Refused(0, "length_mismatch", f"part [{offset}, {offset + length}) lies beyond the {size} bytes")
            headers = _with_length(ticket, length, f"the part has {length}")
            sealed.seek(offset)
            answer = self._exchange(ticket.url, ticket.method, headers, _Window(sealed, length), self._upload_timeout_s)
        _raise_for(answer, upload=True)
        return answer.headers.get("ETag")

    # plumbing ---------------------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        sent = time.time()
        answer = self._exchange(self._base + path, method, headers, payload, self._timeout_s)
        self._note_clock(answer.headers.get("Date"), sent, time.time())
        _raise_for(answer, upload=False)
        if not answer.body:
            return None
        try:
            return json.loads(answer.body)
        except ValueError as error:
            raise NetworkError(f"{method} {path}: answer is not JSON: {answer.body[:200]!r}") from error

    def _exchange(
        self, url: str, method: str, headers: dict[str, str], body: bytes | _Readable | None, timeout: float
    ) -> _Answer:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refused(0, "bad_url", f"not an http(s) URL: {url[:200]}")
        connection = self._connection(parts.scheme, parts.hostname, parts.port, timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            response = _send(connection, method, target, headers, body)
            return _Answer(response.status, response.msg, response.read())
        except (OSError, http.client.HTTPException) as error:
            # Refused, reset, timed out, TLS or DNS failure, or cut off mid-answer: try again later.
            raise NetworkError(f"{method} {parts.hostname}: {type(error).__name__}: {error}") from error
        finally:
            connection.close()

    def _connection(self, scheme: str, host: str, port: int | None, timeout: float) -> http.client.HTTPConnection:
        """A connection to host:port, or to the proxy with a tunnel to host:port (opened at `endheaders`)."""
        via_host, via_port = (host, port) if self._proxy is None else (self._proxy.host, self._proxy.port)
        connection = (
            http.client.HTTPSConnection(via_host, via_port, timeout=timeout, context=self._tls, blocksize=SEND_BLOCK)
            if scheme == "https"
            else http.client.HTTPConnection(via_host, via_port, timeout=timeout, blocksize=SEND_BLOCK)
        )
        if self._proxy is not None:
            # TLS (for https) is then made with `host` itself, inside the tunnel; Host names `host` too.
            connection.set_tunnel(host, port, headers=self._proxy.connect_headers())
        return connection

    def _note_clock(self, date_header: str | None, sent: float, received: float) -> None:
        if not date_header:
            return
        try:
            server = parsedate_to_datetime(date_header).timestamp()
        except (TypeError, ValueError):
            return
        # Date has whole seconds and is cut, not rounded: the server's clock read date + 0.5 s on average,
        # at about the middle of the exchange.
        offset = server + 0.5 - (sent + received) / 2
        with self._lock:
            self._clock_offset_s = round(offset, 3)


def _send(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | _Readable | None,
) -> http.client.HTTPResponse:
    # skip_accept_encoding: send the ticket's headers and nothing of our own but Host.
    connection.putrequest(method, target, skip_accept_encoding=True)
    for key, value in headers.items():
        connection.putheader(key, value)
    if isinstance(body, bytes):
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders()  # connects: a refused or unreachable archive fails here
    try:
        if body is not None:
            connection.send(body)
    except OSError as send_error:
        # The server may have answered early and closed (S3 does so for an expired URL): read that answer.
        if connection.sock is None:
            raise
        try:
            return connection.getresponse()
        except (OSError, http.client.HTTPException):
            raise send_error from None
    return connection.getresponse()


def _raise_for(answer: _Answer, *, upload: bool) -> None:
    status = answer.status
    if 200 <= status < 300:
        return
    code, message = _error_of(answer.body)
    if status == 401:
        raise Unauthorized(f"HTTP 401 {code}: {message}")
    if status in _TRANSIENT_STATUSES or status >= 500:
        raise NetworkError(f"HTTP {status} {code}: {message}")
    if upload and status == 403 and _EXPIRED in answer.body.lower():
        raise UploadExpired(f"HTTP 403 {code}: {message}")
    raise Refused(status, code, message)


def _error_of(body: bytes) -> tuple[str, str]:
    """(code, message) from the archive's `{"error", "message"}` or S3's XML error; else the body's start."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return str(parsed.get("error", parsed.get("code", ""))), str(parsed.get("message", parsed.get("Message", "")))
    code, message = _S3_CODE.search(body), _S3_MESSAGE.search(body)
    if code or message:
        return (
            code.group(1).decode(errors="replace") if code else "",
            message.group(1).decode(errors="replace") if message else "",
        )
    return "", body[:200].decode(errors="replace")


def _vouched(ticket: UploadTicket, answer: _Answer) -> bool:
    """Whether a 2xx answer to a PUT says S3 stored exactly the ticket's bytes: the ticket signs their
    SHA-256 in (x-amz-checksum-sha256), S3 refuses any other body (400 BadDigest) and answers a stored one
    with the checksum it verified. That is what the archive's "received" would say (it asks S3 the same), so
    no question after the PUT is needed. An answer without that checksum (a store that does not check it)
    vouches for nothing: the archive is asked as before."""
    signed = next((value for key, value in ticket.headers.items() if key.lower() == _CHECKSUM_HEADER), None)
    return signed is not None and answer.headers.get(_CHECKSUM_HEADER) == signed


def _with_length(ticket: UploadTicket, size: int, what: str) -> dict[str, str]:
    """The ticket's headers, with a Content-Length that must be `size` (never chunked: a presigned S3
    PUT needs the length up front)."""
    headers = dict(ticket.headers)
    declared = next((value for key, value in headers.items() if key.lower() == "content-length"), None)
    if declared is None:
        headers["Content-Length"] = str(size)
    elif declared != str(size):
        raise Refused(0, "length_mismatch", f"ticket says {declared} bytes, {what}")
    return headers


def _plan(answer: Any, clip_id: str) -> MultipartPlan:
    """A garbled answer is the archive's passing fault (NetworkError: retried), as for the other calls."""
    if not isinstance(answer, dict) or not isinstance(answer.get("upload_id"), str):
        raise NetworkError(f"multipart answer without upload_id: {str(answer)[:200]}")
    part_size, parts_total = answer.get("part_size"), answer.get("parts_total")
    stored, parts = answer.get("parts_stored"), answer.get("parts")
    if (
        not _counts(part_size)
        or not _counts(parts_total)
        or not isinstance(stored, list)
        or not isinstance(parts, list)
    ):
        raise NetworkError(f"multipart answer without its part counts: {str(answer)[:200]}")
    if not all(_counts(number) for number in stored):
        raise NetworkError(f"multipart answer with odd stored part numbers: {str(stored)[:200]}")
    tickets: list[PartTicket] = []
    for raw in parts:
        number = raw.get("part_number") if isinstance(raw, dict) else None
        if not _counts(number):
            raise NetworkError(f"part ticket without part_number: {str(raw)[:200]}")
        tickets.append(PartTicket(number, _ticket(raw)))
    return MultipartPlan(
        clip_id=str(answer.get("clip_id", clip_id)),
        upload_id=answer["upload_id"],
        part_size=part_size,
        parts_total=parts_total,
        parts_stored=tuple(sorted(stored)),
        parts=tuple(sorted(tickets, key=lambda part: part.number)),
    )


def _registration_body(registration: Registration, sealed: SealedFile) -> dict[str, Any]:
    body: dict[str, Any] = {
        "camera_id": registration.camera_id,
        "start": registration.start,
        "end": registration.end,
        "size": registration.size,
        "sha256": registration.sha256,
        "sealed": {"size": sealed.size, "sha256": sealed.sha256},
    }
    if registration.clock_correction_s is not None:
        body["clock_correction_s"] = registration.clock_correction_s
    return body


def _registered(answer: Any) -> Registered:
    if not isinstance(answer, dict) or not isinstance(answer.get("clip_id"), str):
        raise NetworkError(f"registration answer without clip_id: {str(answer)[:200]}")
    upload = answer.get("upload")
    return Registered(
        clip_id=answer["clip_id"],
        status=str(answer.get("status", "")),
        upload=_ticket(upload) if upload is not None else None,
        multipart=answer.get("multipart") is True,
        part_size=answer["part_size"] if _counts(answer.get("part_size")) else None,
        received=answer.get("received") is True,
    )


def _batch_item(item: dict[str, Any]) -> Registered | Refused:
    """A clip's 2xx is its registration; its 4xx the refusal the single route would have answered."""
    status = item.get("status")
    if _counts(status) and 400 <= status < 500:
        raw = item.get("refusal")
        refusal = raw if isinstance(raw, dict) else {}
        return Refused(status, str(refusal.get("error", "")), str(refusal.get("message", "")))
    if _counts(status) and 200 <= status < 300:
        return _registered(item.get("clip"))
    raise NetworkError(f"batch item with status {str(status)[:20]}")


def _counts(value: Any) -> TypeIs[int]:
    """A positive int (a part number or count; JSON's true is no number)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _ticket(raw: Any) -> UploadTicket:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise NetworkError(f"upload ticket without url: {str(raw)[:200]}")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict):
        raise NetworkError("upload ticket headers are not an object")
    try:
        expires_at = parse_iso(str(raw["expires_at"])) if raw.get("expires_at") else None
    except ValueError:
        expires_at = None  # unparsable: let S3 be the judge of expiry
    return UploadTicket(
        url=raw["url"],
        method=str(raw.get("method") or "PUT").upper(),
        headers={str(key): str(value) for key, value in headers.items()},
        expires_at=expires_at,
    )
