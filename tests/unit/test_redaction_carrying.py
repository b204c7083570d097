"""People followed by their look between detections: one track through a detector's misses and a crossing,
so the requester marked once stays the one track marked, and someone undetected for a while stays masked."""

from __future__ import annotations

import numpy as np

from chalicelib.media.redaction.plan import TrackRecord, plan_for, requester_tracks
from chalicelib.media.redaction.tracking import Box, Detection, Tracker
from redaction.carrying import Carrier

SIZE = (120, 320)  # height, width


def figure(seed: int) -> np.ndarray:
    """A 40 x 16 px figure with a texture of its own (a coat, a face)."""
    return np.random.default_rng(seed).integers(0, 255, (40, 16, 3), dtype=np.uint8)


def frame(people: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """A flat grey square with each figure pasted at x (row 40), later ones in front."""
    rgb = np.full((*SIZE, 3), 128, dtype=np.uint8)
    for pixels, x in people:
        rgb[40:80, x : x + 16] = pixels
    return rgb


def followed(frames: list[np.ndarray], detected: dict[int, list[Detection]]) -> list:
    """Run the tracker over the frames with the carrier, detections only where `detected` has them."""
    carrier = Carrier([np.full((*SIZE, 3), 128, dtype=np.uint8)])
    tracker = Tracker()
    for index, rgb in enumerate(frames):
        foreground = carrier.foreground(rgb)
        carried = carrier.carry(index, foreground, tracker.open)
        assigned = tracker.update(index, detected.get(index, []), carried)
        carrier.remember(foreground, assigned, set(carried))
    return tracker.tracks()


def test_a_person_detected_once_is_followed_in_every_frame_after_by_their_look():
    walker = figure(1)
    frames = [frame([(walker, 20 + 3 * n)]) for n in range(30)]

    (track,) = followed(frames, {0: [Detection(0, "person", Box(20, 40, 16, 40), 0.9, every=50)]})

    assert [d.frame for d in track.detections] == list(range(30))
    assert all(abs(d.box.x - (20 + 3 * d.frame)) <= 1 for d in track.detections)


def test_the_requester_stays_one_visible_track_while_someone_crosses_in_front_and_is_masked():
    requester, passer_by = figure(2), figure(3)
    frames = [frame([(requester, 200 - 2 * n), (passer_by, 60 + 4 * n)]) for n in range(40)]
    detected = {
        0: [
            Detection(0, "person", Box(200, 40, 16, 40), 0.9, every=50),
            Detection(0, "person", Box(60, 40, 16, 40), 0.9, every=50),
        ]
    }

    tracks = followed(frames, detected)
    records = [TrackRecord(t.track_id, t.kind, t.boxes(40, hold=2)) for t in tracks]
    mine = [r.track_id for r in records if r.boxes[0].x == 200]
    plan = plan_for(records, requester=requester_tracks(records, mine))

    assert len(tracks) == 2  # neither broke up where they crossed (frames 22 to 25)
    for n in range(40):
        masks = plan.boxes(n)
        seen = Box(200 - 2 * n, 40, 16, 40)
        hidden = Box(60 + 4 * n, 40, 16, 40)
        assert any(m.x <= hidden.x and m.x + m.width >= hidden.x + 16 for m in masks), n
        if abs(seen.x - hidden.x) >= 16 + 12:  # not behind the passer-by (nor in their mask's margin)
            assert not any(m.x < seen.x + 16 and seen.x < m.x + m.width for m in masks), n
