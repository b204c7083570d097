"""The gateway's uplink for tests: an HTTP CONNECT proxy on 127.0.0.1, as a site network's proxy is.

Every request of an agent configured with `proxy_url` (the API's and the presigned S3 PUTs alike) goes
through it, so a test can cut the whole uplink and restore it, read which requests went out (the first
line of each tunnel: plain HTTP locally), and stall one chosen request to kill the agent in the middle of it.

With `rtt_s` it plays a long link as well (a rural site's uplink, a mobile one): opening a tunnel costs one
round trip (the TCP handshake beyond the proxy) and every byte arrives half a round trip after it was sent,
each way. Only latency: bytes are not held back by a bandwidth or a TCP window, so a request costs its
round trips and not its size, the case where an uploader's extra requests weigh most.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field

from local.processes import free_port

_CONNECT = re.compile(rb"^CONNECT ([^\s:]+):(\d+) HTTP/1\.[01]\r\n")
_HEAD_LIMIT = 16384


@dataclass
class Connect:
    target: str
    headers: dict[str, str]


@dataclass
class _Stall:
    pattern: re.Pattern[str]
    answer_lost: bool
    reached: threading.Event = field(default_factory=threading.Event)


class UplinkProxy:
    def __init__(self, rtt_s: float = 0.0) -> None:
        self.rtt_s = rtt_s
        self.port = free_port()
        self.connects: list[Connect] = []
        self.requests: list[str] = []  # the request line of every tunnel, in the order they began
        self.began: list[float] = []  # when each of `requests` arrived (time.perf_counter)
        self.refuse_with: int | None = None  # answer CONNECTs with this status instead (e.g. 407)
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._stalls: list[_Stall] = []
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and break the open ones, as a dead uplink does."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        _close([sock for sock in [listener, *sockets] if sock is not None])

    def close(self) -> None:
        self.cut()

    def stall(self, request_line: str, *, answer_lost: bool = False) -> threading.Event:
        """Hold the next request whose request line matches the regex: it is taken in and never passed on
        nor answered (until `cut`); the event is set once it has arrived. With `answer_lost`, the request
        goes through whole and the server's answer is what is lost: the connection breaks as it comes
        back, and the event is set then."""
        stall = _Stall(re.compile(request_line), answer_lost)
        with self._lock:
            self._stalls.append(stall)
        return stall.reached

    def sent(self, request_line: str) -> list[str]:
        """The request lines so far that match the regex."""
        pattern = re.compile(request_line)
        with self._lock:
            return [line for line in self.requests if pattern.search(line)]

    def first_since(self, request_line: str, since: float) -> float | None:
        """When the first request matching the regex arrived at `since` (time.perf_counter) or later."""
        pattern = re.compile(request_line)
        with self._lock:
            matching = zip(self.began, self.requests, strict=True)
            return min((t for t, line in matching if t >= since and pattern.search(line)), default=None)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            if self._track(client):
                threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> bool:
        with self._lock:
            if self._listener is None:  # cut meanwhile
                sock.close()
                return False
            self._sockets.append(sock)
            return True

    def _tunnel(self, client: socket.socket) -> None:
        opened = [client]
        with suppress(OSError):
            if self._pass_on(client, opened):
                return  # stalled: its sockets stay open until cut
        with self._lock:
            self._sockets = [sock for sock in self._sockets if sock not in opened]
        _close(opened)

    def _pass_on(self, client: socket.socket, opened: list[socket.socket]) -> bool:
        """Serve one CONNECT tunnel; True if its request was stalled."""
        head = _read_head(client)
        connect = _CONNECT.match(head)
        if connect is None:
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return False
        target = (connect[1].decode(), int(connect[2]))
        with self._lock:
            self.connects.append(Connect(f"{target[0]}:{target[1]}", _headers_of(head)))
        if self.refuse_with is not None:
            client.sendall(f"HTTP/1.1 {self.refuse_with} Refused\r\nContent-Length: 0\r\n\r\n".encode())
            return False
        time.sleep(self.rtt_s)  # the TCP handshake with the far end
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)  # the timeout was for connecting: a long upload may leave it quiet for long
        opened.append(upstream)
        if not self._track(upstream):
            return False
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        first = client.recv(65536)
        line = first.split(b"\r\n", 1)[0].decode(errors="replace")
        with self._lock:
            self.requests.append(line)
            self.began.append(time.perf_counter())
            stall = next((s for s in self._stalls if s.pattern.search(line)), None)
            if stall is not None:
                self._stalls.remove(stall)
        if stall is not None and not stall.answer_lost:
            stall.reached.set()
            return True  # held: the client waits for an answer that never comes
        if stall is not None:
            upstream.sendall(first)
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            upstream.recv(65536)  # the server has taken the request in and answers: drop it, break the link
            stall.reached.set()
            return False
        delay_s = self.rtt_s / 2
        back = threading.Thread(target=_pump, args=(upstream, client, delay_s), daemon=True)
        back.start()
        _pump(client, upstream, delay_s, first)
        back.join()
        return False


def _close(sockets: list[socket.socket]) -> None:
    """Shut down, then close: a bare close leaves a socket open while a pump thread still waits in recv."""
    for sock in sockets:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


def _read_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def _headers_of(head: bytes) -> dict[str, str]:
    lines = head.decode(errors="replace").split("\r\n")[1:]
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def _pump(source: socket.socket, sink: socket.socket, delay_s: float = 0.0, first: bytes = b"") -> None:
    """Copy `first`, then all `source` sends, to `sink` until the end; each chunk `delay_s` after it came."""
    if delay_s <= 0:
        with suppress(OSError):
            sink.sendall(first)
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        return
    # A delay line: read as it comes, deliver each chunk once its time is up (b"" marks the end).
    line: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
    delivery = threading.Thread(target=_deliver, args=(line, sink), daemon=True)
    delivery.start()
    if first:
        line.put((time.monotonic() + delay_s, first))
    with suppress(OSError):
        while chunk := source.recv(65536):
            line.put((time.monotonic() + delay_s, chunk))
    line.put((time.monotonic() + delay_s, b""))
    delivery.join()


def _deliver(line: queue.SimpleQueue[tuple[float, bytes]], sink: socket.socket) -> None:
    with suppress(OSError):
        while True:
            due, chunk = line.get()
            time.sleep(max(0.0, due - time.monotonic()))
            if not chunk:
                break
            sink.sendall(chunk)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
