"""The watched-folder source: which files it offers, when, and how it counts a folder coming back."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.agent.sources import WatchedFolder

T0 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_offers_video_files_unchanged_over_two_polls_oldest_first(tmp_path: Path) -> None:
    (tmp_path / "day-1").mkdir()
    newer = tmp_path / "b.mp4"
    older = tmp_path / "day-1" / "a.MP4"  # subfolders and upper-case suffixes as NVRs write them
    for path, age in ((newer, 10), (older, 20)):
        path.write_bytes(b"x")
        moment = (T0 - timedelta(seconds=age)).timestamp()
        os.utime(path, (moment, moment))
    (tmp_path / ".c.mp4.part").write_bytes(b"uploading")
    (tmp_path / "index.idx").write_bytes(b"not footage")
    (tmp_path / "link.mp4").symlink_to(newer)
    source = WatchedFolder("cam-a", tmp_path)
    assert source.poll(T0) == []  # seen once: maybe still growing
    ready = source.poll(T0 + timedelta(seconds=2))
    assert [segment.path for segment in ready] == [older, newer]
    assert ready[0].ended_at == T0 - timedelta(seconds=20) and ready[0].stable_since == T0

    source.handled(ready[0])
    assert [segment.path for segment in source.poll(T0 + timedelta(seconds=4))] == [newer]


def test_a_growing_file_waits(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    path.write_bytes(b"x")
    source = WatchedFolder("cam-a", tmp_path)
    source.poll(T0)
    with path.open("ab") as grown:
        grown.write(b"more")
    assert source.poll(T0 + timedelta(seconds=2)) == []
    assert len(source.poll(T0 + timedelta(seconds=4))) == 1


def test_a_folder_that_vanishes_and_returns_counts_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "share"
    source = WatchedFolder("cam-a", folder)
    assert source.poll(T0) == [] and source.restarts == 0
    folder.mkdir()
    source.poll(T0 + timedelta(seconds=2))
    assert source.restarts == 1
