"""Uploading exactly once through outages, refusals and expired URLs; the heartbeat."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from gateway.agent.agent import Agent
from gateway.agent.ahead import BATCH, Lookahead, registrations_ahead
from gateway.agent.spool import FAILED, ClipState
from tests.unit.test_agent_support import (
    HEARTBEAT_KEYS,
    Site,
    files_under,
    later,
    now,
    settle,
    sha256_file,
)


def test_outage_then_recovery_every_clip_arrives_exactly_once(site: Site) -> None:
    recorded = [site.record("cam-a"), site.record("cam-b"), site.record("cam-a")]
    plain = sorted(sha256_file(path) for path in recorded)
    agent = site.agent()

    site.archive.stop()  # connection refused
    settle(agent, now(), rounds=3)
    assert len(agent.spool.clips()) == 3 and agent.next_upload_at is not None
    first_delay = agent.next_upload_at

    site.archive.start()
    site.archive.fail_with_500 = True  # up, but failing
    agent.run_once(later(1))
    agent.run_once(later(5))
    assert site.archive.clips == {} and agent.spool.clips() != []
    assert agent.next_upload_at is not None and agent.next_upload_at > first_delay

    site.archive.fail_with_500 = False
    agent.run_once(later())
    assert agent.spool.clips() == [] and agent.next_upload_at is None
    assert sorted(clip.plaintext_sha256 or "" for clip in site.archive.received()) == plain
    assert all(clip.puts == 1 for clip in site.archive.clips.values())
    assert len(site.archive.puts) == 3
    assert agent.spool.load_state().last_upload_at is not None
    assert site.archive.state_queries == 0  # S3's answer vouched for each clip: "received?" never asked


def test_clips_are_sent_oldest_first(site: Site) -> None:
    site.archive.stop()
    newer = sha256_file(site.record("cam-b"))
    older = sha256_file(site.record("cam-a", ended_ago=timedelta(minutes=30)))
    site.config = replace(site.config, upload_concurrency=1)
    agent = site.agent()
    settle(agent, now())
    site.archive.start()
    agent.run_once(later())
    assert [body["sha256"] for body in site.archive.registrations] == [older, newer]


def test_a_backlog_goes_several_clips_at_once_the_oldest_first_and_each_exactly_once(site: Site) -> None:
    site.archive.stop()
    recorded = [site.record("cam-a", ended_ago=timedelta(minutes=50 - n)) for n in range(5)]
    oldest_first = [sha256_file(path) for path in recorded]
    site.config = replace(site.config, upload_concurrency=2)
    agent = site.agent()
    settle(agent, now())
    site.archive.start()
    site.archive.latency_s = 0.4  # a long round trip: two clips at a time take about half as long as one
    started = time.monotonic()
    agent.upload_pass(later())
    elapsed = time.monotonic() - started

    registered = [body["sha256"] for body in site.archive.registrations]
    stored = [site.archive.clips[clip_id].registration["sha256"] for clip_id in site.archive.puts]
    # Two workers, each taking the oldest clip left: the first two stored are the two oldest.
    assert set(stored[:2]) == set(oldest_first[:2]) and sorted(registered) == sorted(oldest_first)
    assert agent.spool.clips() == [] and len(site.archive.puts) == 5
    assert all(clip.puts == 1 for clip in site.archive.clips.values())
    # One at a time could not take under 5 clips × (register + PUT) × 0.4 s = 4 s; two at a time: 3 rounds of 0.8 s.
    assert elapsed < 4.0


def test_a_backlog_is_registered_in_batches_ahead_of_its_uploads_each_clip_once(site: Site) -> None:
    site.archive.stop()
    recorded = [sha256_file(site.record("cam-a", ended_ago=timedelta(minutes=50 - n))) for n in range(12)]
    agent = site.agent()
    settle(agent, now())
    site.archive.start()
    site.archive.latency_s = 0.05
    agent.upload_pass(later())

    assert agent.spool.clips() == [] and len(site.archive.puts) == 12
    assert sorted(body["sha256"] for body in site.archive.registrations) == sorted(recorded)
    # Registered many to a request (the first batch one clip per worker, the next ones while those upload).
    requests = len(site.archive.registrations) - sum(site.archive.batches) + len(site.archive.batches)
    assert requests <= 12 / 2 and max(site.archive.batches) > 1


def _removals_held_until_the_second_put(
    site: Site, monkeypatch: pytest.MonkeyPatch, before_removal: Callable[[Agent], None] = lambda _agent: None
) -> list[bool]:
    """Two clips, one upload at a time, and each group of received clips kept from removal until the second
    clip's PUT has reached the archive (then `before_removal` runs): whether each group saw that PUT."""
    site.archive.stop()
    for n in range(2):
        site.record("cam-a", ended_ago=timedelta(minutes=50 - n))
    site.config = replace(site.config, upload_concurrency=1)
    second_put = threading.Event()
    real_put = site.archive.put

    def put(*args: Any) -> Any:
        answer = real_put(*args)
        if len(site.archive.puts) == 2:
            second_put.set()
        return answer

    real_remove = Agent._remove_received
    waited: list[bool] = []

    def remove(agent: Agent, receipts: Any) -> None:
        waited.append(second_put.wait(timeout=5))
        before_removal(agent)
        real_remove(agent, receipts)

    monkeypatch.setattr(site.archive, "put", put)
    monkeypatch.setattr(Agent, "_remove_received", remove)
    return waited


def test_removing_a_received_clip_does_not_hold_up_the_next_upload(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    waited = _removals_held_until_the_second_put(site, monkeypatch)
    agent = site.agent()
    settle(agent, now())
    site.archive.start()
    agent.upload_pass(later())

    # The first clip's spooled copy was still being removed when the second clip went.
    assert waited and waited[0] and agent.spool.clips() == [] and len(site.archive.puts) == 2
    assert agent.spool.load_state().uploaded_clips == 2


def test_a_received_clip_waiting_for_its_removal_is_never_dropped(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def sweep_over_quota(agent: Agent) -> None:
        agent.config = replace(agent.config, quota_bytes=0)
        agent.enforce_limits(later())

    _removals_held_until_the_second_put(site, monkeypatch, sweep_over_quota)
    agent = site.agent()
    settle(agent, now())
    site.archive.start()
    agent.upload_pass(later())

    # In the archive already: no gap to report for it, and no clip lost.
    assert agent.spool.drops() == [] and agent.spool.load_state().dropped_total == 0
    assert agent.spool.clips() == [] and len(site.archive.received()) == 2


def test_an_archive_without_the_batch_route_gets_each_clip_registered_alone(site: Site) -> None:
    site.archive.stop()
    for n in range(5):
        site.record("cam-a", ended_ago=timedelta(minutes=50 - n))
    site.archive.batch_route = False
    agent = site.agent()
    settle(agent, now())
    site.archive.start()
    agent.upload_pass(later())

    assert agent.spool.clips() == [] and len(site.archive.puts) == 5
    assert len(site.archive.registrations) == 5 and all(clip.puts == 1 for clip in site.archive.clips.values())


@pytest.mark.parametrize(
    ("completed", "elapsed_s", "lifetime_s", "ahead"),
    [
        (0, 5.0, 120.0, 8),  # nothing done yet: two for each worker, this round and the next
        (10, 1.0, 120.0, 2 * BATCH),  # a fast link: two batches, the next registered while one waits
        (3, 300.0, 120.0, 1),  # 100 s a clip: more would wait beyond their URLs' lifetime
        (30, 60.0, 120.0, 30),  # half a clip a second: those started within half a lifetime
    ],
)
def test_clips_are_registered_only_as_far_ahead_as_their_urls_last(completed, elapsed_s, lifetime_s, ahead) -> None:
    assert registrations_ahead(completed, elapsed_s, lifetime_s, workers=4) == ahead


def test_the_next_rounds_registration_goes_out_with_the_first() -> None:
    clips = [SimpleNamespace(name=f"clip-{n:02d}") for n in range(20)]
    stop = threading.Event()
    lookahead = Lookahead(clips, workers=4, stop=stop)  # type: ignore[arg-type]
    batches: list[tuple[int, list[Any]]] = []
    registrars = [threading.Thread(target=lambda: batches.append(lookahead.next_batch())) for _ in range(2)]
    for registrar in registrars:
        registrar.start()
    for registrar in registrars:
        registrar.join(timeout=5)
    stop.set()  # lets a registrar still waiting go

    # Before anything is registered: a round's clips for each registrar, both requests on their way at once.
    assert sorted(number for number, _ in batches) == [0, 1] and [len(clips) for _, clips in batches] == [4, 4]


def test_a_batch_registered_before_the_one_ahead_of_it_waits_for_it() -> None:
    clips = [SimpleNamespace(name=f"clip-{n:02d}") for n in range(20)]
    lookahead = Lookahead(clips, workers=4, stop=threading.Event())  # type: ignore[arg-type]
    number, first = lookahead.next_batch()
    lookahead.deliver(number, first, [None] * len(first), lifetime_s=120.0)
    for _ in first:
        lookahead.take()
        lookahead.done()  # the pace is known now: two batches may be on their way at once
    (earlier, middle), (later, last) = lookahead.next_batch(), lookahead.next_batch()

    lookahead.deliver(later, last, [None] * len(last), lifetime_s=None)
    taken: list[tuple[str, object] | None] = []
    worker = threading.Thread(target=lambda: taken.extend(lookahead.take() for _ in range(len(middle) + 1)))
    worker.start()
    worker.join(timeout=0.5)
    assert worker.is_alive() and taken == []  # the later batch waits for the earlier one
    lookahead.deliver(earlier, middle, [None] * len(middle), lifetime_s=None)
    worker.join(timeout=5)

    assert [item and item[0] for item in taken] == [clip.name for clip in [*middle, last[0]]]


def test_refusals_move_a_clip_to_failed_after_the_budget_and_spare_the_others(site: Site) -> None:
    site.record("cam-a")
    good = sha256_file(site.record("cam-b"))
    site.archive.refuse_registration = lambda body: body["camera_id"] == "cam-a"
    agent = site.agent()
    settle(agent, now())
    assert [clip.plaintext_sha256 for clip in site.archive.received()] == [good]

    for seconds in (60, 120, 180, 240):  # each retry after its (short, in tests) refusal delay
        (record,) = agent.spool.clips()
        assert record.refusals > 0 and record.state is ClipState.SEALED
        agent.run_once(later(seconds))
    assert agent.spool.clips() == []
    (failed,) = agent.spool.clips(FAILED)
    assert failed.state is ClipState.FAILED and failed.refusals == 5
    assert failed.last_error is not None and "403" in failed.last_error and "not one of" in failed.last_error
    assert agent.spool.sealed_path(failed.name, FAILED).exists()
    agent.run_once(later(600))
    assert site.archive.refused_registrations == 5  # a failed clip is left alone


def test_a_refusal_budget_starts_afresh_when_the_clip_progresses(site: Site) -> None:
    site.record("cam-a")
    refusals = iter([True] * 4)
    site.archive.refuse_registration = lambda _body: next(refusals, False)
    site.archive.refuse_puts = 4
    site.archive.received_on_put = False  # keep the clip spooled after its PUT, to read its sidecar
    agent = site.agent()
    settle(agent, now())
    # 4 refused registrations, then registered (progress: the count restarts), then 4 refused PUTs:
    # 8 refusals, never 5 in a row without progress.
    for seconds in range(60, 600, 60):
        agent.run_once(later(seconds))
    (record,) = agent.spool.clips()
    assert record.state is ClipState.UPLOADED and record.refusals == 0 and record.last_error is None
    assert site.archive.refused_registrations == 4 and site.archive.refuse_puts == 0 and len(site.archive.puts) == 1
    assert agent.spool.clips(FAILED) == []


def test_an_expired_upload_url_is_fetched_again_without_counting(site: Site) -> None:
    path = site.record("cam-a")
    plain = sha256_file(path)
    site.archive.expire_puts = 1  # S3 answers 403 "Request has expired"
    agent = site.agent()
    settle(agent, now())
    assert site.archive.expired_answers == 1
    assert len(site.archive.registered_for(plain)) == 2 and len(site.archive.puts) == 1
    assert agent.spool.clips() == [] and agent.spool.clips(FAILED) == []


def test_a_ticket_already_past_expires_at_is_replaced_before_the_put(site: Site) -> None:
    path = site.record("cam-a")
    plain = sha256_file(path)
    site.archive.issue_expired_tickets = 1
    agent = site.agent()
    settle(agent, now())
    assert site.archive.expired_answers == 0  # never even tried
    assert len(site.archive.registered_for(plain)) == 2 and len(site.archive.puts) == 1
    assert agent.spool.clips() == []


def test_a_refused_credential_backs_off_without_charging_any_clip(site: Site) -> None:
    site.record("cam-a")
    site.archive.token = "gw-test-site-1." + "x" * 32  # the gateway was re-keyed; this box was not
    agent = site.agent()
    for seconds in range(0, 3000, 300):
        agent.run_once(later(seconds))
    (record,) = agent.spool.clips()
    assert record.refusals == 0 and agent.spool.clips(FAILED) == []
    assert agent.next_upload_at is not None


def test_received_is_awaited_before_anything_is_deleted(site: Site) -> None:
    site.record("cam-a")
    site.archive.received_on_put = False  # the archive has not processed the upload yet
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.state is ClipState.UPLOADED and agent.spool.sealed_path(record.name).exists()
    agent.run_once(later(10))
    assert len(agent.spool.clips()) == 1 and len(site.archive.puts) == 1  # polled, not re-sent

    site.archive.clips[record.clip_id or ""].received = True
    agent.run_once(later(20))
    assert agent.spool.clips() == [] and len(site.archive.puts) == 1


def test_never_received_after_the_confirm_timeout_is_sent_again(site: Site) -> None:
    site.record("cam-a")
    site.archive.received_on_put = False
    agent = site.agent()
    settle(agent, now())
    agent.run_once(later(agent.config.confirm_timeout_seconds + 60))  # gives up waiting: back to registered
    agent.run_once(later(agent.config.confirm_timeout_seconds + 61))
    assert len(site.archive.puts) == 2
    assert len(site.archive.clips) == 1  # the same clip, sent twice, never two clips


def test_heartbeat_sends_exactly_the_agreed_keys(site: Site) -> None:
    site.archive.date_offset_s = 120.0  # the archive's clock runs two minutes ahead
    site.archive.received_on_put = False
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    agent.heartbeat(now())
    beat: dict[str, Any] = site.archive.heartbeats[-1]
    assert set(beat) == HEARTBEAT_KEYS
    assert beat["version"].startswith("safe-society-gateway/")
    assert beat["spool_clips"] == 1 and beat["spool_bytes"] > 0 and beat["free_disk_bytes"] > 0
    assert 50 < beat["oldest_pending_s"] < 120
    assert beat["dropped_clips"] == 0
    assert beat["clock_offset_s"] == pytest.approx(120.0, abs=1.5)
    assert set(beat["cameras"]) == {"cam-a", "cam-b"}
    assert beat["cameras"]["cam-a"]["last_segment_at"].endswith("Z")
    assert beat["cameras"]["cam-b"] == {"last_segment_at": None, "restarts": 0}
    json.dumps(beat)  # plain JSON types only


def test_heartbeat_is_sent_every_heartbeat_seconds(site: Site) -> None:
    agent = site.agent()
    start = now()
    for seconds in (0, 10, 29, 31, 45, 62):
        agent.run_once(start + timedelta(seconds=seconds))
    assert len(site.archive.heartbeats) == 3  # at 0, 31 and 62


def test_the_put_carries_exactly_the_signed_headers(site: Site) -> None:
    # The fake refuses any header it did not sign (urllib would add Content-Type and chunk the body).
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    assert len(site.archive.puts) == 1 and files_under(site.config.spool_dir / "pending") == []


def test_a_clip_the_archive_forgot_is_registered_again(site: Site) -> None:
    site.record("cam-a")
    site.archive.received_on_put = False
    agent = site.agent()
    settle(agent, now())
    site.archive.clips.clear()  # the archive answers 404 for the clip id the agent holds
    site.archive.received_on_put = True
    agent.run_once(later(10))
    (record,) = agent.spool.clips()
    assert record.state is ClipState.REGISTERED and record.refusals == 1
    agent.run_once(later(60))
    assert agent.spool.clips() == [] and len(site.archive.puts) == 2 and len(site.archive.received()) == 1


def test_an_unreadable_sealed_file_spends_its_own_budget_and_stalls_nothing(site: Site) -> None:
    site.archive.stop()
    site.record("cam-a", ended_ago=timedelta(minutes=10))
    newer = sha256_file(site.record("cam-b"))
    agent = site.agent()
    settle(agent, now())
    broken, _ = agent.spool.clips()
    agent.spool.sealed_path(broken.name).unlink()
    site.archive.start()
    agent.run_once(later())
    assert [clip.plaintext_sha256 for clip in site.archive.received()] == [newer]
    for seconds in (120, 180, 240, 300):
        agent.run_once(later(seconds))
    (failed,) = agent.spool.clips(FAILED)
    assert failed.name == broken.name and "No such file" in (failed.last_error or "")
