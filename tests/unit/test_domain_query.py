"""Time windows and page sizes of list queries (chalicelib.domain.query)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.query import MAX_PAGE, MAX_WINDOW, Window, check_page_limit
from chalicelib.errors import InvalidRequest

FROM = datetime(2026, 11, 1, tzinfo=UTC)


def test_window_of_max_span_accepted() -> None:
    Window(FROM, FROM + MAX_WINDOW).check()


def test_window_longer_than_max_span_refused() -> None:
    with pytest.raises(InvalidRequest, match="at most 31 days"):
        Window(FROM, FROM + MAX_WINDOW + timedelta(microseconds=1)).check()


@pytest.mark.parametrize("seconds", [0, -1], ids=["empty", "reversed"])
def test_window_ending_before_it_starts_refused(seconds: int) -> None:
    with pytest.raises(InvalidRequest, match="`to` must be after `from`"):
        Window(FROM, FROM + timedelta(seconds=seconds)).check()


@pytest.mark.parametrize("limit", [1, MAX_PAGE])
def test_page_limit_within_bounds_accepted(limit: int) -> None:
    check_page_limit(limit)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_page_limit_out_of_bounds_refused(limit: int) -> None:
    with pytest.raises(InvalidRequest, match="limit must be 1 to 100"):
        check_page_limit(limit)
