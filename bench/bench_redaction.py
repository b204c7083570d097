"""Automatic redaction on a labelled scene (tests/redaction_scenes.py: real faces, walkers and drawn plates
composited into real CCTV footage, ground truth in every frame), judged by what survives in the export.

An object counts as masked in a frame when the fine detail of every part of its box is gone (the box cut into
`tests.redaction_scenes.parts`: a person in head-high rows, a face in thirds, a plate in quarters): in each part
the correlation between the high-pass detail (luma minus its Gaussian blur) in the source and in the export is
below `MASKED_BELOW`, or what of the source's detail shows in the export is under one grey level (`DETAIL_FLOOR`:
what a mask leaves is that faint, the rounding of its cells and the encoder's block edges, and lines up with an
object's rim now and then). Judged over the whole box, a head left bare above a mask scored 0.0. A plain
re-encode keeps every part well above (its column in the table says how far). The requester is judged the other
way round (visible: detail kept), over the part of their box that nothing pasted in front of them covers in that
frame (whoever walks in front is masked, and hides them) as one: the margin of the mask of a plate or a walker
passing in front hides parts of them rightly (the table also says in how many frames no part of them is masked).
A frame in which less than `UNOCCLUDED_AT_LEAST` of their box is uncovered is counted as occluded, not judged.

Tables: per object, the share of its frames masked, the longest run unmasked, the most detail any part kept in
any frame, and the share the whole box judged as one would count masked (the judge before parts); per class and
size band, the same; speed of find + render against a plain decode + re-encode of the same excerpt in the same
run.

    python -m bench.bench_redaction                  # 720p, 10 s
    python -m bench.bench_redaction --height 1080 --seconds 10
    python -m bench.bench_redaction --seconds 4      # quick, while developing
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from chalicelib.media.masking import Box, masked_excerpt, redacted_excerpt
from chalicelib.media.redaction.plan import MaskPlan, TrackRecord, plan_for, requester_tracks, tracks_at
from chalicelib.media.redaction.tracking import Box as FloatBox
from redaction.finder import Detectors, FinderSettings, FoundTracks, find_tracks
from tests.redaction_scenes import MASKED_BELOW, Scene, Truth, detail_kept, parts_kept, square
from tests.redaction_scenes import Box as TruthBox

ON_OBJECT = 0.3
UNOCCLUDED_AT_LEAST = 0.4


def _luma(frame: av.VideoFrame) -> np.ndarray:
    return np.asarray(frame.to_ndarray(format="gray"), dtype=np.float32)


def _decoded(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield _luma(frame)


@dataclass
class ObjectScore:
    object_id: str
    kind: str
    size: int
    frames: int = 0
    masked: int = 0
    longest_unmasked: int = 0
    run: int = 0
    kept_detail: float = 0.0  # summed over frames: the weakest part's detail in the plain re-encode (how well
    # the judge can see)
    occluded: int = 0  # frames not judged: mostly hidden behind objects in front (the requester only)
    worst_part: float = 0.0  # the most detail a part kept in a frame
    whole_box: int = 0  # frames the whole box judged as one counts masked
    every_part: int = 0  # the requester: judged frames in which every part in view keeps its detail

    def add(self, masked: bool) -> None:
        self.frames += 1
        if masked:
            self.masked += 1
            self.run = 0
        else:
            self.run += 1
            self.longest_unmasked = max(self.longest_unmasked, self.run)


def unoccluded(truth: Truth, in_front: list[TruthBox]) -> np.ndarray:
    """The pixels of the truth's box that none of the boxes in front of it cover."""
    x, y, w, h = truth.box
    free = np.ones((h, w), dtype=bool)
    for left, top, width, height in in_front:
        free[max(0, top - y) : max(0, top + height - y), max(0, left - x) : max(0, left + width - x)] = False
    return free


def judge(
    source: Path, export: Path, plain: Path, scene: Scene, truths: list[list[Truth]], requester: str | None
) -> dict[str, ObjectScore]:
    scores: dict[str, ObjectScore] = {}
    for frame, (a, b, c) in enumerate(zip(_decoded(source), _decoded(export), _decoded(plain), strict=False)):
        for truth in truths[frame]:
            score = scores.setdefault(truth.object_id, ObjectScore(truth.object_id, truth.kind, truth.size))
            if truth.object_id != requester:
                worst = max(parts_kept(a, b, truth), default=0.0)
                score.add(worst < MASKED_BELOW)
                score.worst_part = max(score.worst_part, worst)
                score.whole_box += detail_kept(a, b, truth) < MASKED_BELOW
                score.kept_detail += min(parts_kept(a, c, truth), default=0.0)
                continue
            free = unoccluded(truth, scene.in_front(frame, truth.object_id))
            if free.mean() < UNOCCLUDED_AT_LEAST:
                score.occluded += 1
                continue
            score.add(detail_kept(a, b, truth, free) >= MASKED_BELOW)
            score.every_part += min(parts_kept(a, b, truth, free), default=1.0) >= MASKED_BELOW
            score.kept_detail += detail_kept(a, c, truth, free)
    return scores


def records(found: FoundTracks) -> list[TrackRecord]:
    return [TrackRecord(t.track_id, t.kind, t.boxes, t.detections, t.score) for t in found.tracks]


def _band(score: ObjectScore) -> str:
    if score.kind == "face":
        return "face 16-23" if score.size < 24 else "face 24-80"
    if score.kind == "person":
        return "person 40-300"
    return "plate"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--face-stride", type=int, default=FinderSettings.face_stride)
    parser.add_argument("--full-stride", type=int, default=FinderSettings.full_stride)
    parser.add_argument("--requester", default="person-128", help="the object the reviewer marks as the requester")
    arguments = parser.parse_args()
    width = arguments.height * 16 // 9
    settings = FinderSettings(face_stride=arguments.face_stride, full_stride=arguments.full_stride)
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        scene = square(width, arguments.height, arguments.fps, arguments.seconds)
        source = folder / "source.mp4"
        truths = scene.write(source)
        end_s = scene.frames / scene.fps
        started = time.monotonic()
        masked_excerpt(source, 0.0, end_s, [], folder / "plain.mp4")
        plain_s = time.monotonic() - started
        detectors = Detectors()
        started = time.monotonic()
        found = find_tracks(source, 0.0, end_s, detectors, settings)
        find_s = time.monotonic() - started
        print(f"found {len(found.tracks)} tracks in {find_s:.1f} s", flush=True)
        tracks = records(found)
        marked: list[str] = []
        if arguments.requester:
            first = next(i for i, t in enumerate(truths) if any(o.object_id == arguments.requester for o in t))
            truth = next(o for o in truths[first] if o.object_id == arguments.requester)
            x, y, w, h = truth.box
            marked = tracks_at(tracks, first, x + w / 2, y + h / 2)[:1]
        plan = plan_for(tracks, requester=requester_tracks(tracks, marked))
        started = time.monotonic()
        redacted_excerpt(
            source, 0.0, end_s, lambda n: [Box(b.x, b.y, b.width, b.height) for b in plan.boxes(n)], folder / "out.mp4"
        )
        render_s = time.monotonic() - started
        scores = judge(source, folder / "out.mp4", folder / "plain.mp4", scene, truths, arguments.requester or None)
    _report(scores, found, scene.frames, plain_s, find_s, render_s, arguments, marked)
    _precision(tracks, plan, truths, scene.width, scene.height)


def _report(
    scores: dict[str, ObjectScore],
    found: FoundTracks,
    frames: int,
    plain_s: float,
    find_s: float,
    render_s: float,
    arguments: argparse.Namespace,
    marked: list[str],
) -> None:
    print(
        f"\n{arguments.height}p, {frames} frames, strides face {arguments.face_stride} / full {arguments.full_stride}, "
        f"{len(found.tracks)} tracks, requester {arguments.requester} → {marked}"
    )
    print(
        f"{'object':<14}{'frames':>7}{'masked':>9}{'longest unmasked':>18}{'worst part':>12}{'whole box':>11}"
        f"{'detail in re-encode':>21}"
    )
    others = {object_id: score for object_id, score in scores.items() if object_id != arguments.requester}
    for score in sorted(others.values(), key=lambda s: (s.kind, s.size)):
        print(
            f"{score.object_id:<14}{score.frames:>7}{score.masked / score.frames:>9.1%}{score.longest_unmasked:>18}"
            f"{score.worst_part:>12.2f}{score.whole_box / score.frames:>11.1%}{score.kept_detail / score.frames:>21.2f}"
        )
    print("(worst part: the most detail any part kept in a frame; whole box: masked judged over the box as one)")
    bands: dict[str, list[ObjectScore]] = {}
    for score in others.values():
        bands.setdefault(_band(score), []).append(score)
    print(f"\n{'class':<16}{'objects':>8}{'frames masked':>15}{'worst object':>14}{'longest unmasked':>18}")
    for band, members in sorted(bands.items()):
        count = sum(s.frames for s in members)
        print(
            f"{band:<16}{len(members):>8}{sum(s.masked for s in members) / count:>15.1%}"
            f"{min(s.masked / s.frames for s in members):>14.1%}{max(s.longest_unmasked for s in members):>18}"
        )
    if arguments.requester in scores:
        r = scores[arguments.requester]
        judged = max(1, r.frames)
        print(
            f"\n{'requester':<14}{'frames':>7}{'occluded':>10}{'visible where unoccluded':>26}{'longest masked':>16}"
            f"{'every part':>12}{'detail in re-encode':>21}\n{r.object_id:<14}{r.frames + r.occluded:>7}"
            f"{r.occluded:>10}{r.masked / judged:>26.1%}{r.longest_unmasked:>16}{r.every_part / judged:>12.1%}"
            f"{r.kept_detail / judged:>21.2f}"
        )
        print(
            f"(occluded: under {UNOCCLUDED_AT_LEAST:.0%} of the box free of what is in front; unjudged, runs go on;"
            " every part: no part in view masked, the masks' margins round what passes in front included)"
        )
    total = find_s + render_s
    print(f"\n{'step':<30}{'seconds':>9}{'fps':>8}{'x plain':>9}")
    for name, seconds in (
        ("plain decode + re-encode", plain_s),
        ("find tracks", find_s),
        ("render masks", render_s),
        ("redaction (find + render)", total),
    ):
        print(f"{name:<30}{seconds:>9.1f}{frames / seconds:>8.1f}{seconds / plain_s:>9.1f}")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _on_object(box: FloatBox, truths: list[Truth]) -> bool:
    """The box and a labelled object cover each other: at least ON_OBJECT of the smaller lies in the larger."""
    for truth in truths:
        other = FloatBox(*map(float, truth.box))
        smaller, larger = (box, other) if box.width * box.height <= other.width * other.height else (other, box)
        if smaller.overlap(larger) >= ON_OBJECT:
            return True
    return False


def _precision(tracks: list[TrackRecord], plan: MaskPlan, truths: list[list[Truth]], width: int, height: int) -> None:
    """Per kind of track, the share of tracks that are on an object for most of their life; over all frames,
    the share of masked pixels that lie on an object, and the share of the picture masked."""
    print(f"\n{'track kind':<12}{'tracks':>8}{'on an object':>14}")
    for kind in sorted({t.kind for t in tracks}):
        members = [t for t in tracks if t.kind == kind]
        good = sum(
            1
            for t in members
            if sum(_on_object(box, truths[frame]) for frame, box in t.boxes.items()) >= len(t.boxes) / 2
        )
        print(f"{kind:<12}{len(members):>8}{good / len(members):>14.1%}")
    masked_px = on_object_px = 0
    for frame, objects in enumerate(truths):
        masks = np.zeros((height, width), dtype=bool)
        for b in plan.boxes(frame):
            masks[max(0, b.y) : max(0, b.y + b.height), max(0, b.x) : max(0, b.x + b.width)] = True
        labelled = np.zeros_like(masks)
        for truth in objects:
            x, y, w, h = truth.box
            labelled[y : y + h, x : x + w] = True
        masked_px += int(masks.sum())
        on_object_px += int((masks & labelled).sum())
    share = masked_px / (width * height * len(truths))
    print(f"masked pixels on an object: {on_object_px / max(1, masked_px):.1%}; picture masked: {share:.1%}")


if __name__ == "__main__":
    main()
