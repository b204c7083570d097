"""Fixtures shared by the unit, integration and end-to-end tests."""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rtsp_camera import Camera
from tests.screenshots import SCREENSHOTS


def pytest_sessionstart(session: pytest.Session) -> None:
    """The screenshots are of this run alone: cleared once, by the run's own process (not by each xdist worker,
    which would delete what the other had saved)."""
    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(SCREENSHOTS, ignore_errors=True)


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[Camera]:
    """An RTSP camera on 127.0.0.1 (tests using it are marked `needs_camera`); stopped after the test."""
    camera = Camera(tmp_path)
    try:
        yield camera
    finally:
        camera.stop()


@pytest.fixture
def logged_lines():
    """The JSON lines the handlers' logger writes, formatted as Lambda would write them, as they are written."""
    from chalicelib.observability import logger  # Powertools: not for the tests that need none of it

    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in written.getvalue().splitlines()]
    logger.removeHandler(handler)
