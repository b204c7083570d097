"""The benchmark's judge of masking (tests/redaction_scenes.detail_kept): whether a box's fine detail survives."""

from __future__ import annotations

import numpy as np

from tests.redaction_scenes import DETAIL_FLOOR, MASKED_BELOW, Truth, detail_kept, parts, parts_kept

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


WALKER = Truth(object_id="person-160", kind="person", box=(8, 8, 48, 160), size=160)


def bare_top(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured walker's box, and an export masking it flat but for its top `rows` rows."""
    source = np.random.default_rng(3).uniform(0, 255, (176, 64)).astype(np.float32)
    export = np.full_like(source, 117.0)
    export[8 : 8 + rows] = source[8 : 8 + rows]
    return source, export


def test_a_head_left_bare_above_a_mask_fails_its_part_though_the_whole_box_scores_masked() -> None:
    source, export = bare_top(6)  # the top of a 20 px head

    assert detail_kept(source, export, WALKER) < MASKED_BELOW
    assert len(parts(WALKER)) == 24  # head-high rows (20 px), three columns
    assert max(parts_kept(source, export, WALKER)) >= MASKED_BELOW


def test_a_row_of_pixels_left_bare_is_no_part_of_anyone() -> None:
    source, export = bare_top(1)

    assert max(parts_kept(source, export, WALKER)) < MASKED_BELOW


def test_a_small_object_is_judged_in_fewer_parts_none_under_eight_pixels() -> None:
    far = Truth(object_id="person-40", kind="person", box=(0, 0, 13, 40), size=40)
    small_face = Truth(object_id="face-16", kind="face", box=(0, 0, 16, 16), size=16)

    assert [(r.stop - r.start, c.stop - c.start) for r, c in parts(far)] == [(8, 13)] * 5
    assert len(parts(small_face)) == 4


def test_a_flat_part_of_the_source_is_not_judged() -> None:
    source = textured(1)
    source[:32] = 90.0  # the top half of the box plain wall

    assert len(parts_kept(source, source.copy(), BOX)) == 6
