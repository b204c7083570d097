"""Fixtures shared by the unit and end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rtsp_camera import Camera


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[Camera]:
    """An RTSP camera on 127.0.0.1 (tests using it are marked `needs_camera`); stopped after the test."""
    camera = Camera(tmp_path)
    try:
        yield camera
    finally:
        camera.stop()
