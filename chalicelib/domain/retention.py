"""Storage limitation: which clips are due for deletion (GDPR Art. 5(1)(e))."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from chalicelib.domain.clips import Clip, ClipStatus


def plan_expiry(candidates: Iterable[Clip], now: datetime) -> list[Clip]:
    """The clips whose time is up: past retain_until, not yet expired, and held by no case."""
    return [
        clip for clip in candidates if clip.retain_until <= now and clip.status != ClipStatus.EXPIRED and not clip.holds
    ]
