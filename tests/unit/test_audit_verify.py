"""The audit trail's verification: each way of rewriting history, hiding a digest or cutting the trail short
is named as a break; an untouched trail is intact."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.domain.audit_chain import (
    DIGEST_INTERVAL,
    GENESIS_HASH,
    SEGMENTS,
    SegmentHead,
    continuity_problem,
    digest_payload,
    event_hash,
    raised_locks,
    signed_bytes,
)
from chalicelib.domain.audit_verify import DigestVersion, Span, first_signed_heads, jcs, verify_site
from chalicelib.domain.timeutil import iso

SITE = "aizkraukle"
KEY = ec.generate_private_key(ec.SECP256R1())
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LOCK = timedelta(days=400)


class Trail:
    """A trail as the archive writes it: events in segments, and a signed digest at chosen boundaries."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.versions: list[DigestVersion] = []
        self._last_payload: dict[str, Any] | None = None

    def append(self, segment: int, at: datetime, **changes: Any) -> dict[str, Any]:
        mine = [e for e in self.events if e["segment"] == segment]
        event = {
            "event_id": f"E{len(self.events):04d}",
            "at": iso(at),
            "site": SITE,
            "actor": "user:dpo-aizkraukle",
            "role": "dpo",
            "action": "clip.view",
            "target": f"clip:{len(self.events)}",
            "outcome": "allowed",
            "purpose": "incident 2026-114 — ūdens ‘quoted’\n",
            "segment": segment,
            "seq": len(mine) + 1,
            "prev_hash": mine[-1]["hash"] if mine else GENESIS_HASH,
        } | changes
        event["hash"] = event_hash(event)
        self.events.append(event)
        return event

    def heads(self) -> list[SegmentHead]:
        heads = []
        for segment in range(2):
            mine = [e for e in self.events if e["segment"] == segment]
            heads.append(SegmentHead(segment, len(mine), mine[-1]["hash"] if mine else GENESIS_HASH))
        return heads

    def digest(self, at: datetime, *, key: Any = KEY, lock: str = "COMPLIANCE", version: str = "v1") -> None:
        payload = digest_payload(
            SITE, at, at + timedelta(seconds=2), self.heads(), self._last_payload, at + LOCK, "key", None
        )
        self._last_payload = payload
        self.versions.append(signed_version(payload, key=key, lock=lock, version=version))

    def verify(self, now: datetime, **options: Any) -> list[str]:
        report = verify_site(SITE, self.events, self.versions, KEY.public_key(), now, **options)
        return [problem.message for problem in report.breaks]


def signed_version(payload: dict[str, Any], *, key: Any = KEY, lock: str = "COMPLIANCE", version: str = "v1"):
    signature = base64.b64encode(key.sign(signed_bytes(payload), ec.ECDSA(hashes.SHA256()))).decode()
    document = {"payload": payload, "signing_algorithm": "ECDSA_SHA_256", "signature": signature}
    return DigestVersion(
        key=f"digests/{SITE}/{payload['at']}.json",
        version_id=version,
        body=json.dumps(document).encode(),
        lock_mode=lock,
        retain_until=datetime.fromisoformat(payload["retain_until"].replace("Z", "+00:00")),
    )


def digested(intervals: int) -> Trail:
    """`intervals` intervals of events in two segments, each interval's boundary digested."""
    trail = Trail()
    for step in range(intervals):
        trail.append(0, START + step * DIGEST_INTERVAL + timedelta(seconds=30))
        trail.append(1, START + step * DIGEST_INTERVAL + timedelta(seconds=40))
        trail.digest(START + (step + 1) * DIGEST_INTERVAL)
    return trail


@pytest.fixture
def trail() -> Trail:
    return digested(3)


NOW = START + 3 * DIGEST_INTERVAL + timedelta(minutes=3)


def test_an_untouched_trail_is_intact(trail):
    assert trail.verify(NOW) == []


@pytest.mark.parametrize(
    "text",
    ["plain", "ūdens ‘x’", "tab\tnl\nnul\x00 del\x7f", 'quote" back\\', "\u2028\u2029", "emoji 🎥", "\ud7ff\ue000"],
)
def test_our_canonical_form_is_rfc8785(text):
    value = {"é": text, "a": [1, -2, None, True, False, {"z": text, "€": 0}], "\U0001f600": "", "\ue000": 9}
    assert jcs(value) == rfc8785.dumps(value)


def test_a_float_is_not_a_value_of_the_trail():
    with pytest.raises(ValueError, match="float"):
        jcs({"a": 1.5})


def test_an_edited_event_is_named(trail):
    trail.events[2]["purpose"] = "nothing to see"

    assert trail.verify(NOW)[0] == "event 0/2 was altered after it was written"


def test_a_consistently_rehashed_history_differs_from_the_signed_digests(trail):
    # Someone with PutItem rewrites event 0/1 and re-hashes all that follows: the chain alone looks intact.
    previous = GENESIS_HASH
    for event in [e for e in trail.events if e["segment"] == 0]:
        event["purpose"] = "rewritten" if event["seq"] == 1 else event["purpose"]
        event["prev_hash"] = previous
        event["hash"] = previous = event_hash(event)

    problems = trail.verify(NOW)

    assert problems[0] == f"event 0/1 differs from the digest of {iso(START + DIGEST_INTERVAL)}"


def test_events_removed_after_a_digest_are_named(trail):
    trail.events = [e for e in trail.events if not (e["segment"] == 1 and e["seq"] == 3)]

    assert trail.verify(NOW) == [
        f"the digest of {iso(START + 3 * DIGEST_INTERVAL)} names event 1/3, which the trail no longer has"
    ]


def test_a_delete_marker_over_a_digest_is_a_break(trail):
    trail.versions.append(DigestVersion(key=trail.versions[1].key, version_id="marker", delete_marker=True))

    assert trail.verify(NOW) == [f"digest {trail.versions[1].key} is hidden by 1 delete marker(s)"]


def test_a_second_version_over_a_digest_is_a_break(trail):
    first = trail.versions[0]
    trail.versions.append(replace(first, version_id="v2"))

    assert trail.verify(NOW) == [f"digest {first.key} has 2 versions: it was written over"]


def test_a_missing_interval_is_a_break(trail):
    del trail.versions[1]

    problems = trail.verify(NOW)

    assert f"the digest of {iso(START + 2 * DIGEST_INTERVAL)} is missing" in problems


def test_digests_that_stop_are_missing_from_then_on(trail):
    later = NOW + 2 * DIGEST_INTERVAL

    assert trail.verify(later) == [f"the digest of {iso(START + step * DIGEST_INTERVAL)} is missing" for step in (4, 5)]


def test_a_digest_signed_by_another_key_is_a_break(trail):
    forged = Trail()
    forged.events = trail.events
    forged.digest(START + 4 * DIGEST_INTERVAL, key=ec.generate_private_key(ec.SECP256R1()))
    trail.versions += forged.versions

    problems = trail.verify(NOW + DIGEST_INTERVAL)

    assert problems[0].endswith("does not carry a valid signature of the audit key")


def test_a_digest_not_under_compliance_lock_is_a_break():
    trail = Trail()
    trail.append(0, START + timedelta(seconds=30))
    trail.digest(START + DIGEST_INTERVAL, lock="GOVERNANCE")

    assert trail.verify(START + DIGEST_INTERVAL * 1.5)[0].endswith(
        f"is not locked (COMPLIANCE) until the {iso(START + DIGEST_INTERVAL + LOCK)} it states"
    )


def test_a_lock_shorter_than_the_longest_hold_is_a_break(trail):
    problems = trail.verify(NOW, required_lock=lambda at: at + LOCK + timedelta(days=1))

    assert problems and all("shorter than the longest hold" in problem for problem in problems)


def test_an_event_backdated_after_a_digest_is_named(trail):
    # Appended after the last digest, but dated before the first one: inserted into the past.
    trail.append(0, START + timedelta(seconds=50))

    assert trail.verify(NOW)[0] == (
        f"an event after 0/1 is dated before the digest of {iso(START + DIGEST_INTERVAL)}, which does not cover it"
    )


def test_an_event_moved_to_another_segment_is_named(trail):
    moved = next(e for e in trail.events if e["segment"] == 1 and e["seq"] == 3)
    moved["segment"] = 0

    assert trail.verify(NOW)[0].startswith("event 0/")


def test_the_writer_finds_events_removed_since_the_last_digest():
    trail = Trail()
    for _ in range(3):
        trail.append(0, START + timedelta(seconds=30))
    trail.digest(START + DIGEST_INTERVAL)
    signed = json.loads(trail.versions[0].body)["payload"]
    truncated = [SegmentHead(0, 1, trail.events[0]["hash"]), SegmentHead(1, 0, GENESIS_HASH)]

    problem = continuity_problem(signed, truncated, {0: trail.events[:1]})

    assert problem == f"segment 0 ends at event 1, but event 3 was signed (since the digest of {signed['at']})"


def test_the_writer_accepts_events_that_follow_the_signed_head():
    trail = Trail()
    trail.append(0, START + timedelta(seconds=30))
    trail.digest(START + DIGEST_INTERVAL)
    signed = json.loads(trail.versions[0].body)["payload"]
    trail.append(0, START + DIGEST_INTERVAL + timedelta(seconds=30))

    assert continuity_problem(signed, trail.heads(), {0: trail.events, 1: []}) is None


def test_a_digest_of_every_segment_at_its_longest_fits_one_kms_signature():
    heads = [SegmentHead(segment, 2**53 - 1, "f" * 64) for segment in range(SEGMENTS)]
    payload = digest_payload(
        "a-site-with-a-long-name", START, START, heads, None, START + LOCK, "arn:" + "k" * 100, None
    )

    assert len(signed_bytes(payload)) <= 4096  # KMS signs a RAW message of at most 4096 bytes


def test_raised_limits_relock_the_sites_chain_and_the_site_less_one_only_when_it_becomes_the_longest():
    from chalicelib.domain.catalog import Site

    def site(site_id: str, hold: int) -> Site:
        return Site(
            site_id=site_id,
            name=site_id,
            country="LV",
            timezone="Europe/Riga",
            retention_days=7,
            max_retention_days=30,
            max_hold_days=hold,
            legal_basis="test",
            controller="test",
            dpo_contact="dpo@example.org",
        )

    others = [site("birzai", 1000)]

    assert raised_locks(site("aizkraukle", 500), site("aizkraukle", 900), others) == {"aizkraukle": timedelta(930)}
    assert raised_locks(site("aizkraukle", 500), site("aizkraukle", 1100), others) == {
        "aizkraukle": timedelta(1130),
        "-": timedelta(1130),
    }
    assert raised_locks(None, site("new", 1100), others) == {"-": timedelta(1130)}
    assert raised_locks(site("aizkraukle", 900), site("aizkraukle", 500), others) == {}


# ---- a window: the digests of its boundaries, the events from the heads its first digest signed ----


@pytest.fixture
def long_trail() -> Trail:
    return digested(8)


LONG_NOW = START + 8 * DIGEST_INTERVAL + timedelta(minutes=3)
WINDOW = (START + 4 * DIGEST_INTERVAL, START + 7 * DIGEST_INTERVAL)


def verify_window(trail: Trail, start: datetime, end: datetime, now: datetime = LONG_NOW) -> tuple[list[str], Any]:
    """What GET /audit/verify does for a window: the digests of its boundaries only, the events from the heads
    its first valid digest signed."""
    versions = [v for v in trail.versions if start <= parse(v.key.rsplit("/", 1)[-1].removesuffix(".json")) <= end]
    anchor = first_signed_heads(SITE, versions, KEY.public_key())
    events = [e for e in trail.events if e["seq"] >= anchor.get(e["segment"], (1, ""))[0]]
    span = Span(start, end, began=START + DIGEST_INTERVAL, anchor=anchor)
    report = verify_site(SITE, events, versions, KEY.public_key(), now, window=span)
    return [problem.message for problem in report.breaks], report


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_window_checks_its_own_digests_and_the_events_since_its_first(long_trail):
    problems, report = verify_window(long_trail, *WINDOW)

    assert problems == []
    assert (report.digests_checked, report.digests_expected) == (4, 4)
    assert report.events == 2 * 5  # each segment from the head the digest of boundary 4 signed (seq 4) to seq 8


def test_a_delete_marker_inside_the_window_is_a_break(long_trail):
    hidden = long_trail.versions[4]  # the digest of boundary 5
    long_trail.versions.append(DigestVersion(key=hidden.key, version_id="marker", delete_marker=True))

    assert verify_window(long_trail, *WINDOW)[0] == [f"digest {hidden.key} is hidden by 1 delete marker(s)"]


def test_a_delete_marker_outside_the_window_is_not_read(long_trail):
    hidden = long_trail.versions[0]
    long_trail.versions.append(DigestVersion(key=hidden.key, version_id="marker", delete_marker=True))

    assert verify_window(long_trail, *WINDOW)[0] == []


def test_a_second_version_inside_the_window_is_a_break(long_trail):
    written_over = long_trail.versions[5]
    long_trail.versions.append(replace(written_over, version_id="v2"))

    assert verify_window(long_trail, *WINDOW)[0] == [f"digest {written_over.key} has 2 versions: it was written over"]


@pytest.mark.parametrize("edge", [4, 7], ids=["first boundary", "last boundary"])
def test_a_missing_digest_at_the_windows_edge_is_a_break(long_trail, edge):
    long_trail.versions = [
        v for v in long_trail.versions if not v.key.endswith(f"/{iso(START + edge * DIGEST_INTERVAL)}.json")
    ]

    assert f"the digest of {iso(START + edge * DIGEST_INTERVAL)} is missing" in verify_window(long_trail, *WINDOW)[0]


def test_a_rewritten_history_inside_the_window_differs_from_its_digests(long_trail):
    previous = next(e for e in long_trail.events if e["segment"] == 0 and e["seq"] == 5)["hash"]
    for event in [e for e in long_trail.events if e["segment"] == 0 and e["seq"] > 5]:
        event["purpose"] = "rewritten"
        event["prev_hash"] = previous
        event["hash"] = previous = event_hash(event)

    problems = verify_window(long_trail, *WINDOW)[0]

    assert problems[0] == f"event 0/6 differs from the digest of {iso(START + 6 * DIGEST_INTERVAL)}"


def test_the_anchored_event_itself_altered_is_named(long_trail):
    anchored = next(e for e in long_trail.events if e["segment"] == 1 and e["seq"] == 4)
    anchored["purpose"] = "nothing to see"

    assert verify_window(long_trail, *WINDOW)[0][0] == "event 1/4 was altered after it was written"


def test_events_removed_inside_the_window_are_named(long_trail):
    long_trail.events = [e for e in long_trail.events if not (e["segment"] == 0 and e["seq"] >= 7)]

    problems = verify_window(long_trail, *WINDOW)[0]

    assert problems == [
        f"the digest of {iso(START + 7 * DIGEST_INTERVAL)} names event 0/7, which the trail no longer has"
    ]
