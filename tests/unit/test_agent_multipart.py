"""Clips over the archive's multipart threshold go in parts, and an upload broken off resumes from the parts
S3 holds: after a SIGKILL, a dropped connection, an expired URL or an aborted upload.

The fake archive takes parts over 1 MB in 256 KiB parts (the archive: over 100 MB, 16 MiB parts), so a
clip grown to ~3 MB is a dozen parts.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from gateway.agent.spool import FAILED, ClipRecord, ClipState, MultipartProgress, Spool
from gateway.agent.status import render_status, status_report
from tests.unit.test_agent_cli import REPO, finish_in_peace, write_config
from tests.unit.test_agent_support import PartPut, Site, files_under, later, make_site, now, settle, sha256_file

THRESHOLD = 1_000_000
PART_SIZE = 256 * 1024
PADDING = 3_000_000


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = make_site(tmp_path)
    site.archive.multipart_above = THRESHOLD
    site.archive.part_size = PART_SIZE
    yield site
    site.archive.release.set()  # never leave a held PUT waiting
    site.archive.stop()


def big_clip(site: Site) -> str:
    """Record a ~3 MB clip; its plaintext sha256."""
    return sha256_file(site.record("cam-a", padding=PADDING))


def once_each(parts_total: int) -> Counter[int]:
    return Counter(range(1, parts_total + 1))


def stored_per_upload(site: Site) -> dict[str, Counter[int]]:
    uploads: dict[str, Counter[int]] = {}
    for put in site.archive.part_log:
        if put.outcome == "stored":
            uploads.setdefault(put.upload_id, Counter())[put.number] += 1
    return uploads


def test_a_large_clip_goes_in_parts_and_arrives_whole(site: Site, tmp_path: Path) -> None:
    plain = big_clip(site)
    site.archive.stop()  # spooled first, to keep a copy of the sealed bytes
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    sealed = tmp_path / "sealed.age"
    sealed.write_bytes(agent.spool.sealed_path(record.name).read_bytes())
    assert record.sealed.size > THRESHOLD

    site.archive.start()
    agent.run_once(later())

    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain and clip.sealed_sha256 == sha256_file(sealed) == record.sealed.sha256
    (answer,) = site.archive.multipart_answers
    parts_total = -(-record.sealed.size // PART_SIZE)
    assert answer["parts_total"] == parts_total > 10 and answer["parts_stored"] == []
    assert site.archive.part_puts() == site.archive.part_puts("stored") == once_each(parts_total)
    assert site.archive.puts == [] and site.archive.completions == [clip.clip_id] and clip.puts == 1
    assert agent.spool.clips() == [] and files_under(site.config.spool_dir / "pending") == []
    assert agent.spool.load_state().last_upload_at is not None


def test_small_clips_still_go_in_one_put(site: Site) -> None:
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    assert len(site.archive.puts) == 1 and site.archive.multipart_answers == [] and site.archive.part_log == []


def test_sigkilled_mid_part_it_resumes_without_resending_the_stored_parts(site: Site, tmp_path: Path) -> None:
    plain = big_clip(site)
    site.archive.hold_part = 5  # part 5's PUT is held half sent while the agent is killed
    config = write_config(site, tmp_path / "gateway.toml", poll_seconds=0.1, heartbeat_seconds=5, settle_seconds=0)
    agent = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)], cwd=REPO, stderr=subprocess.DEVNULL
    )
    try:
        assert site.archive.held.wait(timeout=30)
        agent.kill()
        agent.wait(timeout=10)
    finally:
        if agent.poll() is None:
            agent.kill()
        site.archive.release.set()
    (first,) = site.archive.multipart_answers
    parts_total = first["parts_total"]
    assert site.archive.part_puts("stored") == Counter([1, 2, 3, 4])

    # The sidecar kept the upload id and the parts confirmed, and `status` shows them.
    spool = Spool(site.config.spool_dir, create=False)
    (record,) = spool.clips()
    assert record.state is ClipState.REGISTERED
    assert record.multipart == MultipartProgress(first["upload_id"], PART_SIZE, parts_total, (1, 2, 3, 4))
    report = status_report(spool, site.config.quota_bytes, now())
    assert report["multipart"] == {
        record.name: {
            "upload_id": first["upload_id"],
            "parts_done": 4,
            "parts_total": parts_total,
            "bytes_done": 4 * PART_SIZE,
            "bytes_total": record.sealed.size,
        }
    }
    assert f"multipart {record.name}: 4/{parts_total} parts ({4 * PART_SIZE} of {record.sealed.size} bytes)" in (
        render_status(report)
    )

    restarted = site.agent()
    restarted.run_once(later())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain and clip.sealed_sha256 == record.sealed.sha256
    second = site.archive.multipart_answers[1]
    assert second["upload_id"] == first["upload_id"] and second["parts_stored"] == [1, 2, 3, 4]
    assert [ticket["part_number"] for ticket in second["parts"]] == list(range(5, parts_total + 1))
    # Each part PUT exactly once, but part 5: cut off by the kill, then sent whole.
    assert site.archive.part_puts() == once_each(parts_total) + Counter([5])
    assert site.archive.part_puts("cut") == Counter([5])
    assert site.archive.part_puts("stored") == once_each(parts_total)
    assert restarted.spool.clips() == [] and len(site.archive.clips) == 1


def test_a_connection_dropped_mid_part_backs_off_and_resumes_where_it_stopped(site: Site) -> None:
    plain = big_clip(site)
    site.archive.hold_part = 3
    site.archive.release.set()  # not held: cut off at once, half sent
    agent = site.agent()
    settle(agent, now())
    assert agent.next_upload_at is not None  # a network error: the pass backs off as for single uploads
    (record,) = agent.spool.clips()
    assert record.multipart is not None and record.multipart.parts_done == (1, 2)
    assert record.refusals == 0 and record.last_error is None  # an outage is no clip's fault

    agent.run_once(later())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain
    parts_total = site.archive.multipart_answers[0]["parts_total"]
    assert site.archive.part_puts("stored") == once_each(parts_total)
    assert site.archive.part_puts() == once_each(parts_total) + Counter([3])
    assert agent.next_upload_at is None and agent.spool.clips() == []


def test_an_archive_down_mid_upload_keeps_every_part_sent(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = big_clip(site)
    put_part = site.archive.put_part

    def down_after_six(upload_id: str, number: int, headers: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
        answer = put_part(upload_id, number, headers, body)
        site.archive.fail_with_500 = number == 6  # S3 stores part 6, then everything answers 500
        return answer

    monkeypatch.setattr(site.archive, "put_part", down_after_six)
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.multipart is not None and record.multipart.parts_done == (1, 2, 3, 4, 5, 6)
    assert agent.next_upload_at is not None and record.refusals == 0

    site.archive.fail_with_500 = False
    agent.run_once(later())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain
    parts_total = site.archive.multipart_answers[0]["parts_total"]
    assert site.archive.part_puts("stored") == once_each(parts_total)
    assert [answer["parts_stored"] for answer in site.archive.multipart_answers] == [[], [1, 2, 3, 4, 5, 6]]


def test_an_aborted_upload_starts_over(site: Site) -> None:
    plain = big_clip(site)
    site.archive.hold_part = 4
    site.archive.release.set()
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.multipart is not None and record.multipart.parts_done == (1, 2, 3)
    aborted = record.multipart.upload_id
    site.archive.abort(record.clip_id or "")  # S3 forgets the upload and its parts

    agent.run_once(later())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain
    restarted = site.archive.multipart_answers[-1]
    assert restarted["upload_id"] != aborted and restarted["parts_stored"] == []
    parts_total = restarted["parts_total"]
    assert stored_per_upload(site) == {aborted: Counter([1, 2, 3]), restarted["upload_id"]: once_each(parts_total)}
    assert site.archive.completions == [clip.clip_id]


def test_an_upload_aborted_while_its_parts_go_starts_over_in_the_same_pass(site: Site) -> None:
    plain = big_clip(site)
    site.archive.abort_after_parts = 3  # the 4th PUT meets 404 NoSuchUpload
    agent = site.agent()
    settle(agent, now())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain
    first, second = site.archive.multipart_answers
    assert first["upload_id"] != second["upload_id"] and second["parts_stored"] == []
    assert PartPut(first["upload_id"], 4, "NoSuchUpload") in site.archive.part_log
    assert stored_per_upload(site) == {
        first["upload_id"]: Counter([1, 2, 3]),
        second["upload_id"]: once_each(second["parts_total"]),
    }
    assert agent.spool.clips() == [] and agent.spool.clips(FAILED) == [] and agent.next_upload_at is None


def test_expired_part_urls_are_asked_for_again_without_counting(site: Site) -> None:
    plain = big_clip(site)
    site.archive.issue_expired_tickets = 1  # the first ticket is past its time: not even tried
    site.archive.expire_puts = 1  # then S3 answers 403 "Request has expired" to a part
    agent = site.agent()
    settle(agent, now())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain
    assert site.archive.expired_answers == 1 and len(site.archive.multipart_answers) == 3
    assert len({answer["upload_id"] for answer in site.archive.multipart_answers}) == 1
    parts_total = site.archive.multipart_answers[0]["parts_total"]
    assert site.archive.part_puts("stored") == once_each(parts_total)
    assert site.archive.part_puts("AccessDenied") == Counter([1])
    assert agent.spool.clips(FAILED) == [] and agent.next_upload_at is None


def test_urls_expiring_round_after_round_wait_for_a_later_pass_uncharged(site: Site) -> None:
    plain = big_clip(site)
    site.archive.expire_puts = 3  # three rounds in a row store nothing
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.state is ClipState.REGISTERED and record.refusals == 0 and record.retry_at is None
    assert len(site.archive.multipart_answers) == 3 and site.archive.part_log and not site.archive.received()

    agent.run_once(later())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain
    assert site.archive.part_puts("stored") == once_each(site.archive.multipart_answers[0]["parts_total"])


def test_a_part_missing_at_completion_is_sent_again(site: Site) -> None:
    plain = big_clip(site)
    site.archive.lose_part_at_completion = 2  # completion answers 409: ask for the missing parts
    agent = site.agent()
    settle(agent, now())
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain and site.archive.incomplete_completions == 1
    first, second = site.archive.multipart_answers
    assert second["upload_id"] == first["upload_id"]
    assert [ticket["part_number"] for ticket in second["parts"]] == [2]
    assert site.archive.part_puts("stored") == once_each(first["parts_total"]) + Counter([2])
    assert agent.spool.clips() == [] and agent.spool.clips(FAILED) == []


def test_refused_parts_spend_the_clips_budget(site: Site) -> None:
    big_clip(site)
    site.archive.refuse_puts = 1  # a definite "no" to a part (4xx): the clip's problem
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.refusals == 1 and record.last_error is not None and "InvalidRequest" in record.last_error
    agent.run_once(later())
    assert len(site.archive.received()) == 1 and agent.spool.clips() == []


def test_received_is_awaited_after_completion(site: Site) -> None:
    big_clip(site)
    site.archive.received_on_put = False  # the archive has not processed the assembled upload yet
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.state is ClipState.UPLOADED and len(site.archive.completions) == 1
    assert status_report(agent.spool, site.config.quota_bytes, now())["multipart"] == {}
    agent.run_once(later(10))
    assert len(agent.spool.clips()) == 1 and len(site.archive.completions) == 1  # polled, not re-sent

    site.archive.clips[record.clip_id or ""].received = True
    agent.run_once(later(20))
    assert agent.spool.clips() == [] and len(site.archive.completions) == 1


def test_sigkill_at_random_moments_never_sends_a_stored_part_again(site: Site, tmp_path: Path) -> None:
    plain = big_clip(site)
    site.archive.latency_s = 0.02  # a slow link: kills land during part PUTs and their answers
    config = write_config(site, tmp_path / "gateway.toml", poll_seconds=0.05, heartbeat_seconds=5, settle_seconds=0)
    command = [sys.executable, "-m", "gateway", "run", "--config", str(config)]
    pause = random.Random(457)  # noqa: S311 - kill times, seeded to repeat
    for _ in range(5):
        agent = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
        time.sleep(pause.uniform(0.3, 0.6))
        agent.kill()
        agent.wait(timeout=10)
    finish_in_peace(site, command, clips=1, timeout_s=20)
    (clip,) = site.archive.received()
    assert clip.plaintext_sha256 == plain and site.archive.completions == [clip.clip_id]
    (upload,) = stored_per_upload(site).values()  # one upload, resumed each time
    assert upload == once_each(site.archive.multipart_answers[0]["parts_total"])
    assert files_under(site.config.spool_dir / "pending") == []


def test_a_sidecar_keeps_its_multipart_progress_and_older_sidecars_still_read(site: Site) -> None:
    site.archive.stop()
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.multipart is None  # older sidecars have no such key
    progress = MultipartProgress("U1", PART_SIZE, 12, (3, 1))
    agent.spool.save(ClipRecord.from_json(record.to_json() | {"multipart": asdict(progress)}))
    (read,) = agent.spool.clips()
    assert read.multipart == MultipartProgress("U1", PART_SIZE, 12, (1, 3))
    assert read.multipart.with_part(2).parts_done == (1, 2, 3)
