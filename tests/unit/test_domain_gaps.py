"""What a gateway may report as a gap: a refused clip with the archive's answer as its detail."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.domain.gaps import Drop, DropReason

SPAN = {"camera_id": "cam-01", "start": "2026-12-02T10:00:00.000Z", "end": "2026-12-02T10:00:02.000Z"}


def test_a_refused_clip_is_a_gap_with_the_archives_answer() -> None:
    drop = Drop.model_validate(SPAN | {"reason": "refused", "detail": "HTTP 400 invalid_request: retention over"})
    assert drop.reason is DropReason.REFUSED and drop.detail == "HTTP 400 invalid_request: retention over"
    assert Drop.model_validate(SPAN | {"reason": "quota"}).detail is None


@pytest.mark.parametrize("detail", ["forged\x1b[2Kline", "x" * 301])
def test_a_detail_that_forges_text_or_runs_long_is_refused(detail: str) -> None:
    with pytest.raises(ValidationError):
        Drop.model_validate(SPAN | {"reason": "refused", "detail": detail})
