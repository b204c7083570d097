"""Seconds of one call, for the benches' tables."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(action: Callable[..., object], *args: object) -> float:
    """The wall time of `action(*args)`, in seconds."""
    started = time.perf_counter()
    action(*args)
    return time.perf_counter() - started
