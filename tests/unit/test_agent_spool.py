"""The sealed spool and crash safety: no plaintext at rest, atomic writes, a SIGKILL anywhere is harmless."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import av
import pyrage
import pytest

from gateway.agent import durable, sealing
from gateway.agent.durable import atomic_write_bytes, is_temp, write_temp
from gateway.agent.spool import FAILED, PENDING, STATE_FILE, ClipState, Spool
from tests.unit.test_agent_support import (
    SimulatedKill,
    Site,
    files_under,
    later,
    now,
    settle,
    sha256_file,
)


def test_spool_holds_no_plaintext_and_opens_with_the_site_identity(site: Site, tmp_path: Path) -> None:
    site.archive.stop()  # nothing leaves: the clips stay spooled
    recorded = [site.record("cam-a"), site.record("cam-b")]
    plain_sha = {sha256_file(path) for path in recorded}
    agent = site.agent()
    settle(agent, now())

    assert files_under(site.watch_dir("cam-a")) == files_under(site.watch_dir("cam-b")) == []
    spooled = agent.spool.clips()
    assert {record.registration.sha256 for record in spooled} == plain_sha
    for path in files_under(site.config.spool_dir):
        data = path.read_bytes()
        # No MP4 box survives: not the file type, not the index, not the media data.
        assert b"ftyp" not in data and b"moov" not in data and b"mdat" not in data, path
    for record in spooled:
        sealed = agent.spool.sealed_path(record.name)
        assert sealed.read_bytes().startswith(b"age-encryption.org/v1\n")
        with pytest.raises(av.FFmpegError):
            av.open(str(sealed))
        assert sha256_file(sealed) == record.sealed.sha256 and sealed.stat().st_size == record.sealed.size
        opened = tmp_path / f"{record.name}.mp4"
        pyrage.decrypt_file(str(sealed), str(opened), [site.identity])
        assert sha256_file(opened) == record.registration.sha256
        assert opened.stat().st_size == record.registration.size
    assert stat.S_IMODE(site.config.spool_dir.stat().st_mode) == 0o700


def test_registration_times_come_from_mtime_and_duration(site: Site) -> None:
    site.archive.stop()
    path = site.record("cam-a")
    mtime = datetime.fromtimestamp(path.stat().st_mtime_ns / 1e9, UTC)
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    end = datetime.fromisoformat(record.registration.end)
    start = datetime.fromisoformat(record.registration.start)
    assert abs((end - mtime).total_seconds()) < 0.002
    assert (end - start).total_seconds() == pytest.approx(1.0, abs=0.002)
    assert record.registration.start.endswith("Z") and len(record.registration.start) == 24  # ms precision
    assert record.state is ClipState.SEALED and record.source.path == str(path)


def test_atomic_write_leaves_no_temp_file_when_the_writer_dies(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    atomic_write_bytes(target, b"old")

    def half_then_crash(temp: Path) -> None:
        temp.write_bytes(b"ne")
        raise OSError("disk died mid-write")

    with pytest.raises(OSError, match="mid-write"):
        write_temp(target, half_then_crash)
    assert [path.name for path in tmp_path.iterdir()] == ["record.json"]
    assert target.read_bytes() == b"old"


def test_sealing_cut_short_leaves_nothing_and_the_clip_is_taken_later(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.archive.stop()
    path = site.record("cam-a")
    real_encrypt = pyrage.encrypt_file

    def crash_mid_seal(plain: str, out: str, recipients: list[object]) -> None:
        Path(out).write_bytes(b"age-encryption.org/v1\n-> X25519 half")
        raise OSError("no space left on device")

    monkeypatch.setattr(sealing.pyrage, "encrypt_file", crash_mid_seal)
    agent = site.agent()
    settle(agent, now())
    assert path.exists()  # the plaintext is kept until its sealed copy is committed
    assert files_under(site.config.spool_dir / PENDING) == []

    monkeypatch.setattr(sealing.pyrage, "encrypt_file", real_encrypt)
    settle(agent, now(), rounds=1)  # already seen stable: taken at the next poll
    assert not path.exists()
    assert len(agent.spool.clips()) == 1


def test_restart_removes_what_a_killed_agent_left_half_written(site: Site) -> None:
    site.archive.stop()
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    (kept,) = agent.spool.clips()
    pending = site.config.spool_dir / PENDING
    # Killed mid-write (a temp file), killed after the sealed rename but before its sidecar (a sealed
    # file alone), killed while removing a confirmed clip (a sidecar alone).
    (pending / ".x.age.1234abcd.tmp").write_bytes(b"half")
    (pending / "cam-a--20260101T000000.000Z--0000000000000000.age").write_bytes(b"sealed, never committed")
    orphan = json.loads(agent.spool.sidecar_path(kept.name).read_text()) | {"name": "cam-a--gone"}
    (pending / "cam-a--gone.json").write_text(json.dumps(orphan))

    restarted = site.agent()
    assert sorted(path.name for path in files_under(pending)) == [f"{kept.name}.age", f"{kept.name}.json"]
    assert [record.name for record in restarted.spool.clips()] == [kept.name]
    assert not any(is_temp(path) for path in files_under(site.config.spool_dir))


def test_killed_between_sealing_and_plaintext_deletion_the_clip_is_taken_once(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = site.record("cam-a")
    plain_sha = sha256_file(path)
    agent = site.agent()

    def kill(_segment: object) -> None:
        raise SimulatedKill

    monkeypatch.setattr(agent, "_remove_plaintext", kill)
    agent.run_once(now())
    with pytest.raises(SimulatedKill):
        agent.run_once(now())
    assert path.exists() and len(agent.spool.clips()) == 1  # committed, plaintext still there

    restarted = site.agent()
    assert not path.exists()  # removed at start: its sidecar says it was taken
    settle(restarted, later(), rounds=3)
    assert len(site.archive.registered_for(plain_sha)) == 1
    (clip,) = site.archive.clips.values()
    assert clip.received and clip.puts == 1 and clip.plaintext_sha256 == plain_sha
    assert restarted.spool.clips() == []


@pytest.mark.parametrize("vouched", [True, False], ids=["s3_vouches", "store_without_checksums"])
def test_killed_after_the_put_before_its_state_was_saved_uploads_once(
    site: Site, monkeypatch: pytest.MonkeyPatch, vouched: bool
) -> None:
    path = site.record("cam-a")
    plain_sha = sha256_file(path)
    agent = site.agent()

    def kill(*_args: object) -> None:
        raise SimulatedKill

    # S3's answer vouching for the bytes: killed before the spooled copy is deleted. Otherwise: before the
    # PUT's success is written down (the archive learns of the bytes later, from ingest).
    site.archive.received_on_put = vouched
    monkeypatch.setattr(agent, "_received" if vouched else "_mark_uploaded", kill)
    agent.run_once(now())
    with pytest.raises(SimulatedKill):
        agent.run_once(now())
    assert site.archive.puts and agent.spool.clips()[0].state is ClipState.REGISTERED

    for clip in site.archive.clips.values():
        clip.received = True  # ingest has the bytes by the time the agent is back
    restarted = site.agent()
    restarted.run_once(later())
    # Registered again: the same clip comes back received, with no upload URL: nothing is sent or asked.
    assert len(site.archive.registered_for(plain_sha)) == 2 and site.archive.state_queries == 0
    assert len(site.archive.clips) == 1 and len(site.archive.puts) == 1
    assert restarted.spool.clips() == []


def test_killed_after_the_put_before_confirmation_deletes_only_when_received(site: Site) -> None:
    site.record("cam-a")
    site.archive.received_on_put = False  # S3's answer does not vouch for the bytes: the archive is asked
    site.archive.fail_status = True  # the clip state cannot be read: the outcome of the PUT is unknown
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    assert record.state is ClipState.UPLOADED and len(site.archive.puts) == 1
    assert agent.spool.sealed_path(record.name).exists()

    site.archive.fail_status = False
    site.archive.clips[record.clip_id or ""].received = True  # ingest has examined the bytes
    restarted = site.agent()
    restarted.run_once(later())
    assert restarted.spool.clips() == [] and len(site.archive.puts) == 1


def test_clips_removed_together_sync_their_directory_once_for_the_sealed_files_and_once_for_the_sidecars(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.archive.stop()
    for _ in range(3):
        site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    names = [record.name for record in agent.spool.clips()]
    real_sync = durable.fsync_dir
    seen: list[list[str]] = []

    def sync(directory: Path) -> None:
        seen.append(sorted(path.suffix for path in files_under(directory)))
        real_sync(directory)

    monkeypatch.setattr(durable, "fsync_dir", sync)
    agent.spool.remove_clips(names)

    # The first sync makes the sealed files' removal durable while every sidecar is still there (a removal
    # cut short there is finished at start); the second, the sidecars'.
    assert len(names) == 3 and seen == [[".json"] * 3, []]
    assert files_under(site.config.spool_dir / PENDING) == []


def test_connection_cut_during_the_put_is_retried_and_stored_once(site: Site) -> None:
    site.record("cam-a")
    site.archive.cut_puts = 1
    agent = site.agent()
    settle(agent, now())
    assert site.archive.puts == [] and agent.next_upload_at is not None
    agent.run_once(later())
    assert len(site.archive.puts) == 1 and agent.spool.clips() == []


def test_a_move_to_failed_cut_short_is_completed_at_start(site: Site) -> None:
    site.archive.stop()
    site.record("cam-a")
    agent = site.agent()
    settle(agent, now())
    (record,) = agent.spool.clips()
    # Killed right after the failed/ sidecar was written (the first step of the move).
    agent.spool.save(record, FAILED)

    restarted = Spool(site.config.spool_dir)
    restarted.recover()
    assert restarted.clips(PENDING) == []
    assert [failed.name for failed in restarted.clips(FAILED)] == [record.name]
    assert restarted.sealed_path(record.name, FAILED).exists()


def test_a_state_file_from_an_older_agent_still_loads(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    older = {"last_upload_at": "2026-11-25T14:00:00.000Z", "dropped_total": 2, "dropped_by_reason": {"quota": 2}}
    (spool.root / STATE_FILE).write_text(json.dumps(older | {"last_segment_at": {}}))
    state = spool.load_state()
    assert (state.dropped_total, state.uploaded_clips, state.uploaded_bytes) == (2, 0, 0)
