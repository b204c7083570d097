"""The benchmark's judge of masking (tests/redaction_scenes.detail_kept): whether a box's fine detail survives."""

from __future__ import annotations

import numpy as np

from tests.redaction_scenes import DETAIL_FLOOR, MASKED_BELOW, Truth, detail_kept

BOX = Truth(object_id="face-48", kind="face", box=(8, 8, 48, 48), size=48)


def textured(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (64, 64)).astype(np.float32)


def test_the_box_as_it_was_keeps_all_its_detail_and_another_picture_none() -> None:
    source = textured(1)

    assert detail_kept(source, source.copy(), BOX) > 0.99
    assert abs(detail_kept(source, textured(2), BOX)) < MASKED_BELOW


def test_a_flat_box_keeps_no_detail() -> None:
    assert detail_kept(textured(1), np.full((64, 64), 117.0, dtype=np.float32), BOX) == 0.0


def test_detail_fainter_than_one_grey_level_shows_nothing_even_where_it_lines_up() -> None:
    source = textured(1)
    faint = 128 + (source - 128) * 0.003  # the very pattern, at a fraction of a grey level
    weaker = 128 + (source - 128) * 0.1  # the same, still several levels strong

    assert np.std(faint - faint.mean()) < DETAIL_FLOOR
    assert detail_kept(source, faint, BOX) == 0.0
    assert detail_kept(source, weaker, BOX) > 0.99


def test_a_faint_trace_of_the_pattern_among_other_faint_detail_shows_nothing() -> None:
    source, other = textured(1), textured(2)
    # Some levels of detail, half of it lined up with the source's: its share of the source's under one level.
    trace = 128 + (source - 128) * 0.008 + (other - 128) * 0.012
    louder = 128 + (source - 128) * 0.08 + (other - 128) * 0.12

    assert detail_kept(source, trace, BOX) == 0.0
    assert MASKED_BELOW <= detail_kept(source, louder, BOX) < 0.9
