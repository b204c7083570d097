"""Tracks and masks, without video: a missed detection never unmasks, the requester stays visible while
everyone else is masked, masks grow with a margin, a public release masks all."""

from __future__ import annotations

from fractions import Fraction

import pytest

from chalicelib.media.redaction.plan import TrackRecord, plan_for, requester_tracks, tracks_at
from chalicelib.media.redaction.tracking import Box, Detection, TrackerSettings, link
from chalicelib.media.redaction.tracks_file import TracksFile


def walking(kind: str, frames: range, start_x: float, y: float, size: float, step: float) -> list[Detection]:
    return [Detection(f, kind, Box(start_x + step * f, y, size, size), 0.9) for f in frames]


def covered(masks, box: Box) -> bool:
    """Some mask holds the whole box."""
    return any(
        m.x <= box.x and m.y <= box.y and m.x + m.width >= box.x + box.width and m.y + m.height >= box.y + box.height
        for m in masks
    )


def overlap(mask, box: Box) -> bool:
    return (
        mask.x < box.x + box.width
        and box.x < mask.x + mask.width
        and mask.y < box.y + box.height
        and (box.y < mask.y + mask.height)
    )


def test_a_face_missed_for_some_frames_stays_masked_through_the_gap_and_after_its_last_detection():
    seen = [f for f in range(40) if f not in {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}]
    detections = [Detection(f, "face", Box(100 + 3 * f, 50, 24, 24), 0.9) for f in seen]

    (track,) = link(detections)
    record = TrackRecord(track.track_id, track.kind, track.boxes(60, hold=8), len(track.detections))
    plan = plan_for([record])

    for frame in range(48):  # every frame it was in, the missed ones too, and `hold` frames past the last
        truth = Box(100 + 3 * frame, 50, 24, 24)
        assert covered(plan.boxes(frame), truth), frame
    assert plan.boxes(55) == []


def test_a_track_is_not_cut_by_a_miss_longer_than_a_stride_but_within_the_gap():
    detections = [Detection(f, "person", Box(200, 100, 40, 100), 0.8) for f in (0, 25, 50)]

    tracks = link(detections, TrackerSettings(max_gap=30))

    assert len(tracks) == 1
    boxes = tracks[0].boxes(60, hold=25)
    assert set(boxes) == set(range(60))


def test_masks_grow_by_a_margin_for_size_and_speed():
    record = TrackRecord("face-1", "face", {f: Box(100 + 4 * f, 50, 20, 20) for f in range(10)})

    (mask,) = plan_for([record]).boxes(5)

    # 2 px floor + 15 % of 20 px + 1 frame of 4 px/frame = 9 px on each side.
    assert (mask.x, mask.y, mask.width, mask.height) == (111, 41, 38, 38)


def test_the_requester_marked_by_a_click_stays_visible_with_their_face_while_another_is_masked():
    requester = TrackRecord("person-1", "person", {f: Box(100 + f, 100, 40, 100) for f in range(20)})
    their_face = TrackRecord("face-2", "face", {f: Box(110 + f, 105, 18, 18) for f in range(20)})
    their_motion = TrackRecord("moving-3", "moving", {f: Box(96 + f, 96, 50, 110) for f in range(20)})
    passer_by = TrackRecord("person-4", "person", {f: Box(300 - 2 * f, 100, 40, 100) for f in range(20)})
    tracks = [requester, their_face, their_motion, passer_by]

    clicked = tracks_at(tracks, 3, 125, 160)[:1]
    own = requester_tracks(tracks, clicked)
    plan = plan_for(tracks, requester=own)

    assert clicked == ["person-1"]
    assert own == {"person-1", "face-2"}  # the moving region around them is masked around their figure
    for frame in range(20):
        masks = plan.boxes(frame)
        assert covered(masks, passer_by.boxes[frame])
        assert not any(overlap(m, requester.boxes[frame]) for m in masks)


def test_a_moving_region_around_the_requester_and_someone_beside_them_is_masked_but_over_the_requester():
    requester = TrackRecord("person-1", "person", {f: Box(100 + f, 100, 40, 100) for f in range(10)})
    both = TrackRecord("moving-2", "moving", {f: Box(100 + f, 100, 90, 100) for f in range(10)})
    beside = Box(150, 100, 40, 100)  # nobody found them: only the moving region shows them

    plan = plan_for([requester, both], requester=requester_tracks([requester, both], ["person-1"]))

    for frame in range(10):
        masks = plan.boxes(frame)
        assert covered(masks, Box(beside.x + frame, beside.y, beside.width, beside.height))
        assert not any(overlap(m, requester.boxes[frame]) for m in masks)


def test_someone_walking_in_front_of_the_requester_is_masked_but_only_their_figure_over_the_requester():
    requester = TrackRecord("person-1", "person", {f: Box(100, 100, 40, 100) for f in range(10)})
    # A detector's window, 60 x 120 px: the figure it holds is 48 px wide (10 % of its width off each side), from
    # 20 % of its height above it (a head the window may have cut off: 24 px) to 5 % above its bottom (6 px).
    passer_by = TrackRecord("person-2", "person", {f: Box(40 + 4 * f, 90, 60, 120) for f in range(10)})
    tracks = [requester, passer_by]

    plan = plan_for(tracks, requester=requester_tracks(tracks, ["person-1"]))

    for frame in range(1, 9):
        masks = plan.boxes(frame)
        window = passer_by.boxes[frame]
        their_figure_and_lag = Box(window.x + 6, window.y - 24, 48, 138).grown(4)  # 4 px a frame
        assert covered(masks, their_figure_and_lag), frame
        over_requester = [m for m in masks if overlap(m, requester.boxes[frame])]
        assert over_requester and all(
            covered([their_figure_and_lag], Box(m.x, m.y, m.width, m.height)) for m in over_requester
        ), frame
        # Elsewhere the whole window is masked, grown by the floor, 5 % of their size and the lag: 12 px.
        assert covered(masks, Box(window.x - 12, 78, 1, 1)), frame


def followed_then_cut(
    track_id: str, frames: int, jump: int, step: float, kind: str = "person"
) -> tuple[TrackRecord, list[Box]]:
    """A walker 160 px tall whose head is 20 px, `step` px a frame: followed in a window holding them whole,
    until at `jump` a detector's window starting below the head (as the bench's person detector gave one; a
    moving region misses a faint head so too) replaces it and is followed on. Their heads, frame by frame."""
    x = [40 + step * f for f in range(frames)]
    boxes = {f: Box(x[f], 95, 50, 170) if f < jump else Box(x[f], 120, 50, 145) for f in range(frames)}
    return TrackRecord(track_id, kind, boxes, detections=2), [Box(x[f] + 12, 100, 26, 20) for f in range(frames)]


@pytest.mark.parametrize("kind", ["person", "moving"])
def test_a_person_whose_window_jumps_down_by_a_head_keeps_the_head_masked_in_the_frames_after(kind: str):
    track, heads = followed_then_cut(f"{kind}-1", 60, jump=10, step=1, kind=kind)

    plan = plan_for([track])

    for frame in range(60):
        assert covered(plan.boxes(frame), heads[frame]), frame


def test_someone_in_front_of_the_requester_keeps_their_head_masked_when_their_window_cut_it():
    passer_by, heads = followed_then_cut("person-2", 40, jump=5, step=4)
    requester = TrackRecord("person-1", "person", {f: Box(100, 80, 60, 200) for f in range(40)})
    tracks = [requester, passer_by]

    plan = plan_for(tracks, requester=requester_tracks(tracks, ["person-1"]))

    assert plan.figures == [requester]
    for frame in range(40):
        assert covered(plan.boxes(frame), heads[frame]), frame


def test_a_crowd_region_that_holds_the_requester_is_not_theirs():
    requester = TrackRecord("person-1", "person", {f: Box(100, 100, 40, 100) for f in range(10)})
    crowd = TrackRecord("moving-2", "moving", {f: Box(50, 80, 300, 160) for f in range(10)})

    assert requester_tracks([requester, crowd], ["person-1"]) == {"person-1"}


def test_a_public_release_masks_everyone_whatever_was_kept():
    tracks = [TrackRecord(f"face-{n}", "face", {0: Box(20 * n, 0, 10, 10)}) for n in range(3)]

    assert len(plan_for(tracks, kept=["face-0"], everyone=True).boxes(0)) == 3
    assert len(plan_for(tracks, kept=["face-0"]).boxes(0)) == 2


def test_the_tracks_file_keeps_boxes_and_finds_the_frame_shown_at_a_time():
    record = TrackRecord("face-1", "face", {0: Box(1.25, 2.0, 3.0, 4.0), 2: Box(5.0, 6.0, 7.0, 8.0)}, 2, 0.75)
    tracks = TracksFile(320, 240, Fraction(1, 12800), 0, (0, 512, 1024, 1536), (record,))

    again = TracksFile.from_json(tracks.to_json())

    assert again.tracks[0].boxes == {0: Box(1.2, 2.0, 3.0, 4.0), 2: Box(5.0, 6.0, 7.0, 8.0)}
    assert [again.frame_at(t) for t in (0.0, 0.03, 0.04, 0.05, 9.0)] == [0, 1, 1, 2, 3]
    assert again.seconds(2) == 0.08
