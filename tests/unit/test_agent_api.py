"""The agent's HTTP client: each kind of answer becomes the error type that decides the retry policy."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.agent.agent import Backoff
from gateway.agent.api import ArchiveApi, NetworkError, Refused, Unauthorized, UploadExpired, UploadTicket
from gateway.agent.config import HttpProxy
from gateway.agent.spool import Registration, SealedFile
from tests.uplink_proxy import UplinkProxy

REGISTRATION = Registration("cam-a", "2026-11-25T14:00:00.000Z", "2026-11-25T14:00:01.000Z", 10, "ab" * 32)
SEALED = SealedFile(99, "cd" * 32)


class Scripted:
    """A server that answers each request with the next (status, body) of its script."""

    def __init__(self) -> None:
        self.script: list[tuple[int, bytes]] = []
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.date_offset_s = 0.0
        self.answer_headers: dict[str, str] = {}  # sent with every answer
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

            def date_time_string(self, timestamp: float | None = None) -> str:
                return formatdate(time.time() + scripted.date_offset_s, usegmt=True)

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                scripted.seen.append((self.command, self.path, dict(self.headers.items()), body))
                status, answer = scripted.script.pop(0)
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                for key, value in scripted.answer_headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    server = Scripted()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def proxy() -> Iterator[UplinkProxy]:
    running = UplinkProxy()
    yield running
    running.close()


def api_for(server: Scripted, proxy: HttpProxy | None = None) -> ArchiveApi:
    return ArchiveApi(server.url + "/api/", "gw-a.secret", timeout_s=2, upload_timeout_s=2, proxy=proxy)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_busy_or_failing_archive_is_a_network_error(scripted: Scripted, status: int) -> None:
    scripted.script.append((status, b'{"error": "busy", "message": "later"}'))
    with pytest.raises(NetworkError):
        api_for(scripted).heartbeat({})


def test_unreachable_archive_is_a_network_error() -> None:
    server = Scripted()
    url = server.url
    server.server.shutdown()
    server.server.server_close()
    with pytest.raises(NetworkError, match="ConnectionRefused"):
        ArchiveApi(url, "gw-a.secret", timeout_s=1).clip_state("C1")


def test_a_definite_no_is_a_refusal_with_the_archives_reason(scripted: Scripted) -> None:
    scripted.script.append((400, b'{"error": "invalid_request", "message": "end must be after start"}'))
    with pytest.raises(Refused) as refused:
        api_for(scripted).register(REGISTRATION, SEALED)
    assert (refused.value.status, refused.value.code, refused.value.message) == (
        400,
        "invalid_request",
        "end must be after start",
    )


def test_a_refused_credential_is_its_own_kind(scripted: Scripted) -> None:
    scripted.script.append((401, b'{"error": "unauthorized", "message": "wrong secret"}'))
    with pytest.raises(Unauthorized):
        api_for(scripted).heartbeat({})


def test_a_garbled_answer_is_retried_not_believed(scripted: Scripted) -> None:
    scripted.script.append((200, b"<html>captive portal</html>"))
    with pytest.raises(NetworkError, match="not JSON"):
        api_for(scripted).register(REGISTRATION, SEALED)


def test_registration_body_url_and_bearer_token(scripted: Scripted) -> None:
    scripted.script.append((201, b'{"clip_id": "C1", "status": "registered", "upload": null}'))
    registered = api_for(scripted).register(REGISTRATION, SEALED)
    assert registered.clip_id == "C1" and registered.upload is None
    method, path, headers, body = scripted.seen[0]
    assert (method, path, headers["Authorization"]) == ("POST", "/api/gateway/clips", "Bearer gw-a.secret")
    assert json.loads(body) == {
        "camera_id": "cam-a",
        "start": "2026-11-25T14:00:00.000Z",
        "end": "2026-11-25T14:00:01.000Z",
        "size": 10,
        "sha256": "ab" * 32,
        "sealed": {"size": 99, "sha256": "cd" * 32},
    }


def test_a_batch_answer_is_each_clips_registration_or_its_own_refusal(scripted: Scripted) -> None:
    items = [
        {"status": 201, "clip": {"clip_id": "C1", "status": "registered", "upload": None}, "refusal": None},
        {"status": 400, "clip": None, "refusal": {"error": "not_yet", "message": "end is in the future"}},
    ]
    scripted.script.append((200, json.dumps({"clips": items}).encode()))
    registered, refused = api_for(scripted).register_batch([(REGISTRATION, SEALED), (REGISTRATION, SEALED)])
    assert not isinstance(registered, Refused) and registered.clip_id == "C1"
    assert isinstance(refused, Refused) and (refused.status, refused.code) == (400, "not_yet")
    method, path, _, body = scripted.seen[0]
    assert (method, path, len(json.loads(body)["clips"])) == ("POST", "/api/gateway/clips/batch", 2)


def test_a_batch_answer_that_lacks_a_clip_is_retried_not_believed(scripted: Scripted) -> None:
    scripted.script.append((200, b'{"clips": [{"status": 201, "clip": {"clip_id": "C1"}}]}'))
    with pytest.raises(NetworkError, match="one item per clip"):
        api_for(scripted).register_batch([(REGISTRATION, SEALED), (REGISTRATION, SEALED)])


def test_clock_offset_comes_from_the_date_header(scripted: Scripted) -> None:
    scripted.date_offset_s = -300
    scripted.script.append((204, b""))
    api = api_for(scripted)
    assert api.clock_offset_s is None
    api.heartbeat({})
    assert api.clock_offset_s == pytest.approx(-300, abs=1.5)


def test_an_expired_url_is_told_apart_from_other_403s(scripted: Scripted, tmp_path: Path) -> None:
    sealed = tmp_path / "clip.age"
    sealed.write_bytes(b"x" * 99)
    ticket = UploadTicket(scripted.url + "/bucket/k?sig=1", "PUT", {"Content-Type": "application/octet-stream"}, None)
    scripted.script.append((403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"))
    scripted.script.append((403, b"<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>"))
    api = api_for(scripted)
    with pytest.raises(UploadExpired):
        api.put(ticket, sealed)
    with pytest.raises(Refused) as refused:
        api.put(ticket, sealed)
    assert refused.value.code == "SignatureDoesNotMatch"
    # The PUT sent the file whole, with a length (never chunked) and no header of the client's own.
    method, path, headers, body = scripted.seen[0]
    assert (method, path, body) == ("PUT", "/bucket/k?sig=1", b"x" * 99)
    assert {key.lower() for key in headers} == {"host", "content-type", "content-length"}


def test_backoff_is_full_jitter_doubling_up_to_the_cap() -> None:
    backoff = Backoff(1.0, 300.0, random.Random(1))  # noqa: S311 - jitter, seeded to repeat
    delays = [backoff.next_delay() for _ in range(14)]
    ceilings = [min(300.0, 2.0**n) for n in range(14)]
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert max(delays[9:]) > 2**7  # late delays reach far beyond the early ones …
    assert max(delays) <= 300  # … never past the cap
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_behind_a_site_proxy_api_calls_and_puts_go_through_tunnels_to_their_hosts(
    scripted: Scripted, proxy: UplinkProxy, tmp_path: Path
) -> None:
    sealed = tmp_path / "clip.age"
    sealed.write_bytes(b"y" * 99)
    ticket = UploadTicket(scripted.url + "/bucket/k?sig=2", "PUT", {"Content-Type": "application/octet-stream"}, None)
    scripted.script += [(204, b""), (200, b"")]
    api = api_for(scripted, HttpProxy("127.0.0.1", proxy.port, "town hall:pa:ss"))

    api.heartbeat({"spool_clips": 0})
    between = time.perf_counter()
    api.put(ticket, sealed)

    archive_host = scripted.url.removeprefix("http://")
    assert [connect.target for connect in proxy.connects] == [archive_host, archive_host]
    # The proxy's credentials go to the proxy alone, in the CONNECT; the archive sees only its own headers.
    assert proxy.connects[0].headers["Proxy-Authorization"] == "Basic dG93biBoYWxsOnBhOnNz"
    assert proxy.requests == ["POST /api/gateway/heartbeat HTTP/1.1", "PUT /bucket/k?sig=2 HTTP/1.1"]
    # When each went out (bench_gateway times an agent's first PUT so): the heartbeat before `between`.
    assert proxy.first_since("^POST ", between) is None
    assert (proxy.first_since("^PUT ", 0.0) or 0.0) >= between
    (_, _, api_headers, _), (_, _, put_headers, put_body) = scripted.seen
    assert api_headers["Host"] == put_headers["Host"] == archive_host  # the signed host, not the proxy's
    assert not any(key.lower().startswith("proxy-") for key in [*api_headers, *put_headers])
    assert put_body == b"y" * 99


@pytest.mark.parametrize("down", ["cut", "refused"])
def test_a_proxy_that_is_down_or_refuses_the_tunnel_is_an_outage(
    scripted: Scripted, proxy: UplinkProxy, down: str
) -> None:
    if down == "cut":
        proxy.cut()
    else:
        proxy.refuse_with = 407
    with pytest.raises(NetworkError, match="ConnectionRefused" if down == "cut" else "407"):
        api_for(scripted, HttpProxy("127.0.0.1", proxy.port)).heartbeat({})
    assert scripted.seen == []


def test_only_a_put_answered_with_the_checksum_signed_into_its_url_vouches_for_the_bytes(
    scripted: Scripted, tmp_path: Path
) -> None:
    sealed = tmp_path / "clip.age"
    sealed.write_bytes(b"x" * 99)
    checksum = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
    api = ArchiveApi(scripted.url, "gw-a.secret")

    def put(signed: str | None, answered: str | None) -> bool:
        ticket = UploadTicket(
            f"{scripted.url}/bucket/key", "PUT", {"x-amz-checksum-sha256": signed} if signed else {}, None
        )
        scripted.answer_headers = {"x-amz-checksum-sha256": answered} if answered else {}
        scripted.script = [(200, b"")]
        return api.put(ticket, sealed)

    assert put(checksum, checksum)  # S3 verified the bytes against the URL's checksum and says so
    # A 2xx from anything that did not check that checksum says nothing about the bytes stored: ask.
    assert not put(checksum, None)
    assert not put(checksum, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
    assert not put(None, checksum)
