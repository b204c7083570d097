"""Fixtures shared by the gateway agent's unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_agent_support import Site, make_site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """A watched-folder gateway wired to a fake archive on 127.0.0.1, stopped after the test."""
    site = make_site(tmp_path)
    yield site
    site.archive.stop()
