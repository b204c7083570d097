"""Time windows and page sizes that list queries accept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.errors import InvalidRequest

MAX_PAGE = 100
MAX_WINDOW = timedelta(days=31)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def check(self) -> None:
        if self.end <= self.start:
            raise InvalidRequest("`to` must be after `from`")
        if self.end - self.start > MAX_WINDOW:
            raise InvalidRequest(f"a window may span at most {MAX_WINDOW.days} days")


def check_page_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be 1 to {MAX_PAGE}")
