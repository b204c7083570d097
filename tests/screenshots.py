"""Where the browser tests save a screenshot of every screen they check, for a reviewer to look at."""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-screenshots" / "console"
