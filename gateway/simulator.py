"""A stand-in for the sites' gateways: records a real H.264 clip per camera in turn and uploads it.

Each clip's registered start and end are the moments its (synthetic) recording began and ended, so the
archive's duration check sees what a real NVR segment would give it.
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from itertools import cycle
from pathlib import Path

from gateway.clipmaker import make_clip
from gateway.uplink import Uplink, UplinkError, put_clip


def upload_one(uplink: Uplink, camera_id: str, seconds: float, workdir: Path) -> str:
    """Record one clip ending now, register it, PUT it; the clip id."""
    end = datetime.now(UTC)
    start = end - timedelta(seconds=seconds)
    path = workdir / f"{camera_id}.mp4"
    make_clip(path, seconds=seconds, width=640, height=360, fps=10, label=f"{camera_id} {start:%H:%M:%S}")
    registered = uplink.register(camera_id, start, end, path)
    if registered.get("upload"):
        put_clip(registered["upload"], path)
    return str(registered["clip_id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="JSON: {api_url, gateways: [{token, camera_ids}]}")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between uploads")
    parser.add_argument("--clip-seconds", type=float, default=4.0)
    arguments = parser.parse_args()
    config = json.loads(arguments.config.read_text())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cameras = cycle(
        (Uplink(config["api_url"], gateway["token"]), camera_id)
        for gateway in config["gateways"]
        for camera_id in gateway["camera_ids"]
    )
    with tempfile.TemporaryDirectory(prefix="gateway-sim-") as workdir:
        while not stop.wait(arguments.every):
            uplink, camera_id = next(cameras)
            try:
                clip_id = upload_one(uplink, camera_id, arguments.clip_seconds, Path(workdir))
                print(f"uploaded {clip_id} from {camera_id}", flush=True)  # noqa: T201
            except (UplinkError, OSError) as error:
                print(f"upload from {camera_id} failed: {error}", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
