"""Edge clocks: an NVR clock running ahead, a refusal that time cures, a clip refused for good, and which
clips say that a camera is recording (issue 12)."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest

from gateway.agent.clock import iso, on_archive_clock, parse_iso
from gateway.agent.spool import FAILED, AgentState, DropReason, Spool
from tests.unit.test_agent_support import Site, later, now, settle

T = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("recorded_end", "offset_s", "expected_end", "correction"),
    [
        (T - timedelta(seconds=5), 0.0, T - timedelta(seconds=5), None),  # in the past: as it is
        (T + timedelta(seconds=1), 0.0, T + timedelta(seconds=1), None),  # within the Date header's second
        (T + timedelta(minutes=10), 0.0, T, 600.0),  # a fast NVR clock: clamped to now
        (T + timedelta(minutes=10), None, T, 600.0),  # no offset measured yet: our own clock
        (T + timedelta(minutes=10), 900.0, T + timedelta(minutes=10), None),  # the archive runs 15 min ahead
        (T + timedelta(minutes=1), -120.0, T - timedelta(minutes=2), 180.0),  # the archive runs 2 min behind
    ],
)
def test_an_end_is_judged_against_the_archives_clock(
    recorded_end: datetime, offset_s: float | None, expected_end: datetime, correction: float | None
) -> None:
    assert on_archive_clock(recorded_end, T, offset_s) == (expected_end, correction)


def test_a_clip_from_a_fast_nvr_clock_arrives_with_its_times_corrected_and_the_correction_on_record(
    site: Site,
) -> None:
    site.record("cam-a", ended_ago=timedelta(minutes=-10))  # the NVR's clock is 10 minutes ahead
    agent = site.agent()
    settle(agent, now())

    (clip,) = site.archive.received()
    body = clip.registration
    assert parse_iso(body["end"]) <= now() + timedelta(seconds=1)  # the offset is good to the Date header's second
    assert body["clock_correction_s"] == pytest.approx(600, abs=5)
    # The duration is the recording's: both ends moved back alike.
    assert (parse_iso(body["end"]) - parse_iso(body["start"])).total_seconds() == pytest.approx(1.0, abs=0.2)
    assert agent.spool.clips() == [] and agent.spool.clips(FAILED) == []


def test_a_corrupt_file_from_a_fast_nvr_clock_is_a_gap_that_ends_on_the_archives_clock(site: Site) -> None:
    broken = site.record("cam-a", ended_ago=timedelta(minutes=-10))  # the NVR's clock is 10 minutes ahead
    ahead = broken.stat().st_mtime
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    os.utime(broken, (ahead, ahead))
    agent = site.agent()
    settle(agent, now())

    (gap,) = [drop for drop in site.archive.drops if drop["reason"] == "corrupt"]
    assert parse_iso(gap["start"]) < parse_iso(gap["end"]) <= now() + timedelta(seconds=1)


def test_a_clip_taken_before_the_offset_was_known_is_judged_again_when_refused_as_not_yet(site: Site) -> None:
    site.archive.date_offset_s = -900.0  # the archive's clock is 15 minutes behind the gateway's (and NVR's)
    site.record("cam-a")
    agent = site.agent()
    site.archive.stop()
    settle(agent, now())  # taken while no answer has told the offset
    site.archive.start()
    agent.run_once(later(10))  # the archive finds it 14 minutes ahead
    (record,) = agent.spool.clips()
    assert record.refusals == 0 and "not_yet" in (record.last_error or "")

    agent.run_once(later(20))
    (clip,) = site.archive.received()
    # Judged again at the refusal, 10 s on: an end a minute ago is 830 s ahead of the archive's clock then.
    assert clip.registration["clock_correction_s"] == pytest.approx(830, abs=3)
    assert agent.spool.clips() == []


def test_a_refusal_that_time_cures_is_retried_and_never_counted(site: Site) -> None:
    site.archive.clock_skew_s = -120.0  # an archive that takes only ends two minutes old
    site.record("cam-a")  # ended a minute ago, on a clock in step with the archive's
    agent = site.agent()
    settle(agent, now())
    for seconds in range(10, 100, 10):  # far more tries than the refusal budget of 5
        agent.run_once(later(seconds))
    (record,) = agent.spool.clips()
    assert record.refusals == 0 and agent.spool.clips(FAILED) == [] and agent.spool.drops() == []
    assert site.archive.received() == []

    site.archive.clock_skew_s = 300.0  # time has passed
    agent.run_once(later(120))
    assert len(site.archive.received()) == 1 and agent.spool.clips() == []


def test_a_clip_refused_for_good_is_a_gap_with_the_reason_and_counted_in_the_heartbeat(site: Site) -> None:
    site.archive.refuse_registration = lambda body: body["camera_id"] == "cam-a"
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    for seconds in (60, 120, 180, 240):
        agent.run_once(later(seconds))
    (failed,) = agent.spool.clips(FAILED)

    agent.run_once(later(300))
    (gap,) = site.archive.drops
    assert gap["reason"] == "refused" and "403" in gap["detail"] and "not one of" in gap["detail"]
    assert (gap["start"], gap["end"]) == (failed.registration.start, failed.registration.end)
    agent.heartbeat(later(300))
    assert site.archive.heartbeats[-1]["failed_clips"] == 1
    assert agent.spool.load_state().dropped_by_reason == {DropReason.REFUSED.value: 1}

    # Reported, but kept for a person: a restart's recovery does not take the report for a drop cut short.
    restarted = site.agent()
    assert [record.name for record in restarted.spool.clips(FAILED)] == [failed.name]
    assert restarted.spool.sealed_path(failed.name, FAILED).exists()


def test_a_failed_clip_deleted_later_for_its_age_is_still_one_gap_with_its_reason_refused(site: Site) -> None:
    site.archive.refuse_registration = lambda _body: True
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    for seconds in (60, 120, 180, 240, 300):
        agent.run_once(later(seconds))
    assert len(agent.spool.clips(FAILED)) == 1

    days_on = now() + timedelta(days=site.config.max_clip_age_days + 1)
    agent.enforce_limits(days_on)
    agent.run_once(days_on)
    assert agent.spool.clips(FAILED) == []  # the box keeps nothing past the age limit
    assert [gap["reason"] for gap in site.archive.drops] == ["refused"]
    state = agent.spool.load_state()
    assert (state.dropped_total, state.dropped_by_reason) == (1, {DropReason.REFUSED.value: 1})


def test_a_clip_an_older_agent_failed_as_from_the_future_is_uploaded_after_a_restart(site: Site) -> None:
    site.archive.refuse_registration = lambda _body: True
    site.record("cam-a")
    site.record("cam-b")
    agent = site.agent()
    settle(agent, now())
    for seconds in (60, 120, 180, 240):
        agent.run_once(later(seconds))
    future, refused = agent.spool.clips(FAILED)
    # What an agent before not_yet wrote for a clip the archive then refused as from the future.
    old_error = "HTTP 400 invalid_request: end 2026-12-02T10:10:00.000Z is in the future (server time ...)"
    agent.spool.save(dataclasses.replace(future, last_error=old_error), FAILED)
    site.archive.refuse_registration = lambda _body: False

    restarted = site.agent()
    restarted.run_once(later(300))
    (received,) = site.archive.received()
    assert received.registration["sha256"] == future.registration.sha256
    assert [record.name for record in restarted.spool.clips(FAILED)] == [refused.name]  # a real refusal stays


def test_only_clips_the_archive_accepted_say_a_camera_is_recording(site: Site) -> None:
    site.archive.refuse_registration = lambda body: body["camera_id"] == "cam-a"
    site.record("cam-a")
    site.record("cam-b", ended_ago=timedelta(minutes=2))
    agent = site.agent()
    settle(agent, now())
    agent.heartbeat(now())

    cameras = site.archive.heartbeats[-1]["cameras"]
    assert cameras["cam-a"]["last_segment_at"] is None  # taken, but refused: the camera may be silent
    (clip,) = site.archive.received()
    assert cameras["cam-b"]["last_segment_at"] == clip.registration["end"]
    assert parse_iso(cameras["cam-b"]["last_segment_at"]) < now() - timedelta(minutes=1)


def test_a_refused_clip_from_the_future_never_moves_last_segment_at_ahead(site: Site) -> None:
    site.archive.clock_skew_s = -3600.0  # refuses everything recent as not yet
    site.record("cam-a", ended_ago=timedelta(days=-1))
    agent = site.agent()
    settle(agent, now())
    agent.heartbeat(now())
    assert site.archive.heartbeats[-1]["cameras"]["cam-a"]["last_segment_at"] is None
    (record,) = agent.spool.clips()
    assert parse_iso(record.registration.end) <= now() + timedelta(seconds=1)  # clamped at the take


def test_a_last_segment_from_the_future_in_an_old_state_file_is_not_reported(site: Site) -> None:
    # An older agent took a refused clip's end from the future; a heartbeat must not carry it on.
    spool = Spool(site.config.spool_dir)
    recorded = iso(now() - timedelta(minutes=3))
    state = AgentState(last_segment_at={"cam-a": iso(now() + timedelta(days=1)), "cam-b": recorded})
    spool.save_state(state)

    agent = site.agent()
    agent.heartbeat(now())

    cameras = site.archive.heartbeats[-1]["cameras"]
    assert cameras["cam-a"]["last_segment_at"] is None
    assert cameras["cam-b"]["last_segment_at"] == recorded
