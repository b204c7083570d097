"""A camera stand-in for tests, all on 127.0.0.1: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0, run by Debian's own python3 with python3-gi) serving what an ffmpeg test source
publishes to it as RTP (testsrc2, 320x240 at 10 fps, libx264, a keyframe a second).
scripts/install-test-tools installs them; without them the tests marked `needs_camera` are skipped.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
# The RTSP server: serves, on 127.0.0.1 only and over TCP only, the H.264 RTP that the publisher sends to
# the given UDP port (re-payloaded, SPS/PPS before every keyframe). Prints `ready` once listening.
SERVER = """
import sys
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer

Gst.init(None)
rtsp_port, rtp_port = sys.argv[1], int(sys.argv[2])
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(rtsp_port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f"( udpsrc address=127.0.0.1 port={rtp_port} "
    '  caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" '
    "  ! rtph264depay ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)
factory.set_shared(True)
factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
server.get_mount_points().add_factory("/cam", factory)
if server.attach(None) == 0:
    sys.exit("cannot listen on " + rtsp_port)
print("ready", flush=True)
GLib.MainLoop().run()
"""


def _camera_tools_missing() -> str | None:
    if shutil.which("ffmpeg") is None:
        return "ffmpeg is not installed (scripts/install-test-tools)"
    check = (
        "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer; "
        "from gi.repository import Gst; Gst.init(None); "
        "assert all(Gst.ElementFactory.find(n) for n in ('udpsrc', 'rtph264depay', 'rtph264pay'))"
    )
    try:
        subprocess.run([SYSTEM_PYTHON, "-c", check], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "GStreamer's RTSP server for Debian's python3 is not installed (scripts/install-test-tools)"
    return None


MISSING = _camera_tools_missing()
needs_camera = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)  # a stalled server must be able to act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


class Camera:
    """An RTSP camera on 127.0.0.1: the server can be killed, frozen and brought back on its port."""

    def __init__(self, root: Path) -> None:
        self.rtsp_port = free_port(socket.SOCK_STREAM)
        self.rtp_port = free_port(socket.SOCK_DGRAM)
        self.script = root / "rtsp_server.py"
        self.script.write_text(SERVER)
        self.server: subprocess.Popen[bytes] | None = None
        self.publisher = subprocess.Popen(
            [
                "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10",
                "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",  # a keyframe every second, no more
                "-f", "rtp", f"rtp://127.0.0.1:{self.rtp_port}?localaddr=127.0.0.1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.start_server()

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.rtsp_port}/cam"

    def start_server(self) -> None:
        self.server = subprocess.Popen(
            [SYSTEM_PYTHON, str(self.script), str(self.rtsp_port), str(self.rtp_port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.server.stdout is not None
        deadline = time.monotonic() + 20
        line = b""
        while not line.startswith(b"ready"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.server.poll() is not None:
                stop_process(self.server)
                raise AssertionError(f"the RTSP server did not start: {self.server.stderr!r}")
            readable, _, _ = select.select([self.server.stdout], [], [], remaining)
            if readable:
                line = self.server.stdout.readline()

    def kill_server(self) -> None:
        assert self.server is not None
        self.server.kill()
        self.server.wait()
        stop_process(self.server)

    def freeze_server(self) -> None:
        assert self.server is not None
        os.kill(self.server.pid, signal.SIGSTOP)

    def stop(self) -> None:
        if self.server is not None:
            stop_process(self.server)
        stop_process(self.publisher)
