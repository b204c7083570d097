"""Quota, age limit and quarantine: what is dropped at the edge, in which order, and that it is reported."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pyrage

from gateway.agent.spool import DROPS, PENDING, QUARANTINE, DropReason, DropRecord
from tests.unit.test_agent_support import Site, files_under, later, make_site, now, settle, sha256_file


def test_over_quota_the_oldest_pending_clip_is_dropped_first_and_reported(site: Site) -> None:
    site.archive.stop()
    site.record("cam-a", ended_ago=timedelta(minutes=10))
    site.record("cam-b", ended_ago=timedelta(minutes=5))
    site.record("cam-a", ended_ago=timedelta(minutes=1))
    agent = site.agent()
    settle(agent, now())
    oldest, *rest = agent.spool.clips()
    # A quota one byte short of what the spool holds: exactly one clip must go, the oldest.
    agent.config = dataclasses.replace(agent.config, quota_bytes=agent.spool.usage().total_bytes - 1)
    agent.enforce_limits(now())

    assert [record.name for record in agent.spool.clips()] == [record.name for record in rest]
    assert not agent.spool.sealed_path(oldest.name).exists()
    (drop,) = agent.spool.drops()
    assert drop.reason is DropReason.QUOTA and drop.name == oldest.name

    site.archive.start()
    agent.run_once(later())
    registration = oldest.registration
    assert site.archive.drops == [
        {"camera_id": registration.camera_id, "start": registration.start, "end": registration.end, "reason": "quota"}
    ]
    assert agent.spool.drops() == [] and agent.spool.clips() == []
    assert {clip.registration["sha256"] for clip in site.archive.received()} == {
        record.registration.sha256 for record in rest
    }
    state = agent.spool.load_state()
    assert state.dropped_total == 1 and state.dropped_by_reason == {"quota": 1}


def test_a_clip_in_the_watched_folder_past_the_age_limit_is_deleted_and_reported(site: Site) -> None:
    path = site.record("cam-a", ended_ago=timedelta(days=8))
    agent = site.agent()
    settle(agent, now())
    assert not path.exists()
    assert site.archive.registrations == [] and agent.spool.clips() == []
    (drop,) = site.archive.drops
    assert drop["reason"] == "too_old" and drop["camera_id"] == "cam-a"
    assert files_under(site.config.spool_dir / DROPS) == []


def test_a_spooled_clip_that_ages_past_the_limit_is_dropped_never_uploaded(site: Site) -> None:
    site.archive.stop()
    site.record("cam-b")
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    agent.enforce_limits(now() + timedelta(days=7, minutes=5))
    assert agent.spool.clips() == []
    site.archive.start()
    agent.upload_pass(later())
    assert site.archive.registrations == []
    assert site.archive.drops == [
        {
            "camera_id": "cam-b",
            "start": record.registration.start,
            "end": record.registration.end,
            "reason": "too_old",
        }
    ]


def test_a_corrupt_file_is_quarantined_sealed_and_the_clips_after_it_still_upload(site: Site) -> None:
    folder = site.watch_dir("cam-a")
    first = sha256_file(site.record("cam-a", ended_ago=timedelta(minutes=5)))
    garbage = folder / "0000-broken.mp4"
    garbage.write_bytes(b"NVR crashed while writing this segment " * 50)
    truncated = site.record("cam-a", ended_ago=timedelta(minutes=4))
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    good = {first, sha256_file(site.record("cam-a")), sha256_file(site.record("cam-b"))}
    agent = site.agent()
    settle(agent, now())

    assert files_under(folder) == [] and files_under(site.watch_dir("cam-b")) == []
    assert {clip.plaintext_sha256 for clip in site.archive.received()} == good
    assert agent.spool.clips() == []
    quarantined = agent.spool.quarantined()
    assert len(quarantined) == 2
    assert {entry.reason.split(":")[0] for entry in quarantined} == {"not a video file", "truncated"}
    for entry in quarantined:
        sealed = agent.spool.sealed_path(entry.name, QUARANTINE)
        reason_file = site.config.spool_dir / QUARANTINE / f"{entry.name}.reason.txt"
        assert reason_file.read_text().startswith("reason: ")
        assert b"NVR crashed" not in sealed.read_bytes() and b"ftyp" not in sealed.read_bytes()
        pyrage.decrypt(sealed.read_bytes(), [site.identity])  # the site can still look at it
    corrupt = [drop for drop in site.archive.drops if drop["reason"] == "corrupt"]
    assert len(corrupt) == 2 and all(drop["camera_id"] == "cam-a" for drop in corrupt)
    assert all(drop["start"] < drop["end"] for drop in corrupt)


def test_a_refused_drop_report_is_kept_and_sent_again(site: Site) -> None:
    site.record("cam-a", ended_ago=timedelta(days=8))
    site.archive.refuse_drops = True
    agent = site.agent()
    settle(agent, now())
    (kept,) = agent.spool.drops()
    assert kept.attempts == 1 and kept.last_error is not None and "400" in kept.last_error
    site.archive.refuse_drops = False
    agent.run_once(later())
    assert agent.spool.drops() == [] and [drop["reason"] for drop in site.archive.drops] == ["too_old"]


def test_a_drop_cut_short_by_a_crash_is_finished_at_start_and_never_uploaded(site: Site) -> None:
    site.archive.stop()
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    # Killed right after the drop record was written, before the clip's files were deleted.
    agent.spool.save_drop(
        DropRecord(record.name, "cam-a", record.registration.start, record.registration.end, DropReason.QUOTA, "x")
    )
    site.archive.start()
    restarted = site.agent()
    assert files_under(site.config.spool_dir / PENDING) == []
    restarted.run_once(later())
    assert site.archive.registrations == [] and [drop["reason"] for drop in site.archive.drops] == ["quota"]


def test_a_file_that_does_not_probe_yet_gets_time_to_be_finished(tmp_path: Path) -> None:
    site = make_site(tmp_path, quarantine_after_seconds=120)
    try:
        growing = site.watch_dir("cam-a") / "upload-stalled.mp4"
        growing.write_bytes(b"\x00\x00\x00\x18ftypmp42")  # an upload that stalled after its first bytes
        agent = site.agent()
        start = now()
        settle(agent, start)
        assert growing.exists() and agent.spool.quarantined() == []
        agent.run_once(start + timedelta(seconds=60))
        assert growing.exists()  # still within its grace
        agent.run_once(start + timedelta(seconds=121))
        assert not growing.exists() and len(agent.spool.quarantined()) == 1
    finally:
        site.archive.stop()


def test_a_file_is_taken_only_once_unchanged_for_the_settle_time(tmp_path: Path) -> None:
    site = make_site(tmp_path, settle_seconds=10)
    try:
        site.archive.stop()
        path = site.record("cam-a")
        agent = site.agent()
        start = now()
        settle(agent, start, rounds=3)
        assert path.exists()
        with path.open("ab") as grown:  # the writer resumes: the settle time starts again
            grown.write(b"\x00")
        agent.run_once(start + timedelta(seconds=11))
        agent.run_once(start + timedelta(seconds=15))
        assert path.exists()
        agent.run_once(start + timedelta(seconds=22))
        assert not path.exists() and len(agent.spool.clips()) + len(agent.spool.quarantined()) == 1
    finally:
        site.archive.stop()
