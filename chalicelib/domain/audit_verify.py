"""Verify a site's audit trail: its hash chains against every stored version of its signed digests.

Self-contained on purpose: Python 3.10+ and the `cryptography` package, nothing of the archive and no AWS
access, so that an outsider (a court's expert, a supervisory authority) can check an export with the public
key alone:

    python3 audit_verify.py EXPORT_DIR --public-key KEY.pem

The archive's own `GET /audit/verify` runs this same function, so what the API says and what an outsider
finds cannot drift apart. Events are hashed with the RFC 8785 canonical form implemented here, for the
values the trail holds (strings, integers, null, arrays, objects), independently of the library the archive
writes with: a fault in either shows as a break. The format is in the archive's README ("The audit trail's
format").
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64
DIGEST_FORMAT = "safe-society/audit-digest/1"
SIGNING_ALGORITHM = "ECDSA_SHA_256"
# Clocks of the functions that write events and digests may differ by this much.
CLOCK_SKEW = timedelta(seconds=60)
# A digest is written seconds after its boundary; one is missing once its boundary is this far past.
DIGEST_GRACE = timedelta(minutes=2)
_MAX_SAFE_INTEGER = 2**53 - 1


def jcs(value: Any) -> bytes:
    """RFC 8785 for what the trail holds; a float (which the trail never holds) is refused."""
    return _jcs(value).encode("utf-8")  # a lone surrogate cannot be encoded: refused, as RFC 8785 requires


def _jcs(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise ValueError(f"integer {value} is outside the range RFC 8785 encodes exactly")
        return str(value)
    if isinstance(value, str):
        # Python's minimal escaping (\" \\ \b \f \n \r \t, other controls as lowercase \u00xx) is ECMAScript's.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(_jcs(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-16-be"))  # UTF-16 code units, as RFC 8785 sorts
        return "{" + ",".join(f"{_jcs(str(key))}:{_jcs(value[key])}" for key in keys) + "}"
    raise ValueError(f"{type(value).__name__} is not a value the audit trail holds")


def event_hash(event: Mapping[str, Any]) -> str:
    return hashlib.sha256(jcs({k: v for k, v in event.items() if k != "hash" and v is not None})).hexdigest()


def _iso(moment: datetime) -> str:
    """The archive's time format: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class DigestVersion:
    """One stored version of a digest object, as S3 lists it (a delete marker has no body)."""

    key: str
    version_id: str
    delete_marker: bool = False
    body: bytes | None = None
    lock_mode: str | None = None
    retain_until: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "version_id": self.version_id,
            "delete_marker": self.delete_marker,
            "body": None if self.body is None else self.body.decode("utf-8"),
            "lock_mode": self.lock_mode,
            "retain_until": None if self.retain_until is None else self.retain_until.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DigestVersion:
        return cls(
            key=str(data["key"]),
            version_id=str(data["version_id"]),
            delete_marker=bool(data.get("delete_marker")),
            body=None if data.get("body") is None else str(data["body"]).encode("utf-8"),
            lock_mode=data.get("lock_mode"),
            retain_until=None if not data.get("retain_until") else parse_time(str(data["retain_until"])),
        )


@dataclass(frozen=True)
class Break:
    message: str
    segment: int | None = None
    seq: int | None = None


@dataclass(frozen=True)
class Span:
    """Verification of the digests of the boundaries `start`..`end` alone (`end` None: up to the newest), as
    the archive's API does, which must answer within seconds (the whole history is the export's).
    `began`: the boundary of the trail's first digest, if any (none is expected before it). `anchor`: each
    segment's (seq, hash) signed by the first valid digest in the window, from which the events are checked
    when the trail began before the window (the signed head vouches for what precedes it); empty, the events
    are checked from the first."""

    start: datetime
    end: datetime | None = None
    began: datetime | None = None
    anchor: Mapping[int, tuple[int, str]] = field(default_factory=dict)


@dataclass
class Report:
    site: str
    events: int = 0
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    digests_checked: int = 0
    digests_expected: int = 0
    last_digest_at: str | None = None
    breaks: list[Break] = field(default_factory=list)
    window: Span | None = None

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def head_hash(self) -> str:
        """One hash for every segment's head: what the chain as a whole ends in."""
        heads = [{"segment": s, "seq": seq, "hash": h} for s, (seq, h) in sorted(self.heads.items())]
        return hashlib.sha256(jcs(heads)).hexdigest()

    def as_json(self) -> dict[str, Any]:
        first = self.breaks[0] if self.breaks else None
        return {
            "site": self.site,
            "intact": self.intact,
            "checked_from": None if self.window is None else _iso(self.window.start),
            "checked_to": None if self.window is None or self.window.end is None else _iso(self.window.end),
            "events": self.events,
            "head_hash": self.head_hash,
            "digests_checked": self.digests_checked,
            "digests_expected": self.digests_expected,
            "last_digest_at": self.last_digest_at,
            "first_broken_segment": first.segment if first else None,
            "first_broken_seq": first.seq if first else None,
            "problem": first.message if first else None,
            "problems": [b.message for b in self.breaks],
        }


@dataclass
class _Segment:
    """One segment's valid run of events read: hashes and times by seq (index 0 is seq `first_seq`: 1, or the
    head a window's first digest signed)."""

    first_seq: int = 1
    hashes: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    broken_at: int | None = None

    @property
    def next_seq(self) -> int:
        return self.first_seq + len(self.hashes)

    def hash_at(self, seq: int) -> str | None:
        """The hash of event `seq` (the genesis hash for 0 from the first event on); None if not read."""
        if seq == 0 and self.first_seq == 1:
            return GENESIS_HASH
        index = seq - self.first_seq
        return self.hashes[index] if 0 <= index < len(self.hashes) else None

    @functools.cached_property
    def latest_before(self) -> list[datetime]:
        """For each n, the latest time among events 1..n (events a digest of head n covers)."""
        out: list[datetime] = []
        for at in self.times:
            out.append(max(out[-1], at) if out else at)
        return out

    @functools.cached_property
    def earliest_after(self) -> list[datetime | None]:
        """For each n, the earliest time among events after n (events a digest of head n does not cover)."""
        out: list[datetime | None] = [None] * (len(self.times) + 1)
        for index in range(len(self.times) - 1, -1, -1):
            later = out[index + 1]
            out[index] = self.times[index] if later is None else min(later, self.times[index])
        return out


def verify_site(
    site: str,
    events: Iterable[Mapping[str, Any]],
    versions: Iterable[DigestVersion],
    public_key: Any,
    now: datetime,
    *,
    required_lock: Callable[[datetime], datetime] | None = None,
    window: Span | None = None,
) -> Report:
    """Every break in a site's trail: events altered, missing or out of place, digests missing, hidden by a
    delete marker, written twice, unsigned, unlocked, or naming a head the chain no longer has.

    `public_key`: a `cryptography` EC public key. `required_lock(at)`: the earliest a digest of `at` may be
    unlocked under the limits in force now (the archive knows its sites' holds; an outsider may leave it out).
    `window`: check only its digests, and the events from its anchor on (`versions` and `events` are those)."""
    report = Report(site, window=window)
    segments = _check_segments(site, events, report, window.anchor if window else {})
    digests, stored = _check_versions(site, versions, public_key, report, required_lock)
    _check_schedule(digests, stored, segments, now, report)
    for at in sorted(digests):
        _check_digest_against_chain(digests[at], segments, report)
    report.heads = {
        s: (seg.next_seq - 1, seg.hashes[-1] if seg.hashes else GENESIS_HASH) for s, seg in segments.items()
    }
    return report


def first_signed_heads(site: str, versions: Iterable[DigestVersion], public_key: Any) -> dict[int, tuple[int, str]]:
    """Each segment's (seq, hash) in the earliest digest of `versions` that is validly signed: a window's anchor."""
    for version in sorted((v for v in versions if not v.delete_marker), key=lambda v: v.key):
        payload = _signed_payload(site, version, public_key, Report(site), None)
        if payload is not None:
            return {int(head["segment"]): (int(head["seq"]), str(head["hash"])) for head in payload["segments"]}
    return {}


def _check_segments(
    site: str, events: Iterable[Mapping[str, Any]], report: Report, anchor: Mapping[int, tuple[int, str]]
) -> dict[int, _Segment]:
    by_segment: dict[int, list[Mapping[str, Any]]] = {}
    for event in events:
        report.events += 1
        if event.get("site") != site or not isinstance(event.get("segment"), int):
            report.breaks.append(Break(f"event {event.get('event_id')} is not one of {site}'s segments"))
            continue
        by_segment.setdefault(int(event["segment"]), []).append(event)
    segments: dict[int, _Segment] = {}
    for number, listed in sorted(by_segment.items()):
        segment = segments[number] = _Segment(first_seq=max(1, anchor.get(number, (1, ""))[0]))
        for event in sorted(listed, key=lambda e: int(e.get("seq", 0))):
            problem = _event_problem(number, event, segment.next_seq, segment)
            if problem:
                segment.broken_at = segment.next_seq
                report.breaks.append(Break(problem, number, segment.broken_at))
                break
            segment.hashes.append(str(event["hash"]))
            segment.times.append(parse_time(str(event["at"])))
    return segments


def _event_problem(segment: int, event: Mapping[str, Any], expected_seq: int, chain: _Segment) -> str | None:
    seq = event.get("seq")
    previous = chain.hash_at(expected_seq - 1)  # None for a window's anchored first event: its digest vouches
    if seq != expected_seq:
        return f"event {segment}/{expected_seq} is missing (found {segment}/{seq} next)"
    if previous is not None and event.get("prev_hash") != previous:
        return f"event {segment}/{seq} does not follow event {segment}/{expected_seq - 1}"
    try:
        recomputed = event_hash(event)
        parse_time(str(event.get("at")))
    except (ValueError, TypeError):
        return f"event {segment}/{seq} is not in the trail's format"
    if recomputed != event.get("hash"):
        return f"event {segment}/{seq} was altered after it was written"
    return None


def _check_versions(
    site: str,
    versions: Iterable[DigestVersion],
    public_key: Any,
    report: Report,
    required_lock: Callable[[datetime], datetime] | None,
) -> tuple[dict[datetime, dict[str, Any]], set[str]]:
    """The valid digests by boundary, and the times of every key stored; each version that is not the one
    valid digest of its key is a break."""
    by_key: dict[str, list[DigestVersion]] = {}
    for version in versions:
        by_key.setdefault(version.key, []).append(version)
    valid: dict[datetime, dict[str, Any]] = {}
    for key, stored in sorted(by_key.items()):
        markers = [v for v in stored if v.delete_marker]
        objects = [v for v in stored if not v.delete_marker]
        if markers:
            report.breaks.append(Break(f"digest {key} is hidden by {len(markers)} delete marker(s)"))
        if len(objects) > 1:
            report.breaks.append(Break(f"digest {key} has {len(objects)} versions: it was written over"))
        for version in objects:
            payload = _signed_payload(site, version, public_key, report, required_lock)
            if payload is not None:
                report.digests_checked += 1
                valid.setdefault(parse_time(payload["at"]), payload)
    return valid, {key.rsplit("/", 1)[-1].removesuffix(".json") for key in by_key}


def _signed_payload(
    site: str,
    version: DigestVersion,
    public_key: Any,
    report: Report,
    required_lock: Callable[[datetime], datetime] | None,
) -> dict[str, Any] | None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        document = json.loads(version.body or b"")
        payload = document["payload"]
        signature = base64.b64decode(document["signature"], validate=True)
        at = parse_time(payload["at"])
        retain_until = parse_time(payload["retain_until"])
    except (ValueError, KeyError, TypeError):
        report.breaks.append(Break(f"digest {version.key} is not a digest"))
        return None
    try:
        if document.get("signing_algorithm") != SIGNING_ALGORITHM:
            raise InvalidSignature
        public_key.verify(signature, jcs(payload), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        report.breaks.append(Break(f"digest {version.key} does not carry a valid signature of the audit key"))
        return None
    problem = None
    if payload.get("format") != DIGEST_FORMAT or payload.get("site") != site:
        problem = f"digest {version.key} is not a digest of {site}"
    elif not version.key.endswith(f"/{payload['at']}.json"):
        problem = f"digest {version.key} is stored under another time than the {payload['at']} it signs"
    elif version.lock_mode != "COMPLIANCE" or version.retain_until is None or version.retain_until < retain_until:
        problem = f"digest {version.key} is not locked (COMPLIANCE) until the {payload['retain_until']} it states"
    elif required_lock is not None and version.retain_until < required_lock(at):
        # The lock it has now, not the one it was given: raising a site's limits lengthens every digest's lock.
        locked = _iso(version.retain_until)
        problem = f"digest {version.key} is locked until {locked}, shorter than the longest hold"
    if problem:
        report.breaks.append(Break(problem))
        return None
    return dict(payload)


def _check_schedule(
    digests: Mapping[datetime, Mapping[str, Any]],
    stored: set[str],
    segments: Mapping[int, _Segment],
    now: datetime,
    report: Report,
) -> None:
    """A digest at every boundary from the chain's first event (or first digest) on, within the window if there
    is one, its edges included; none may be missing."""
    intervals = {int(d["interval_seconds"]) for d in digests.values()}
    if len(intervals) > 1:
        report.breaks.append(Break(f"the digests disagree on their interval: {sorted(intervals)} s"))
    interval = timedelta(seconds=min(intervals) if intervals else 300)
    window = report.window
    firsts = [seg.times[0] for seg in segments.values() if seg.times and seg.first_seq == 1] + list(digests)
    firsts += [window.began] if window and window.began else []
    if not firsts:
        return
    step = int(interval.total_seconds())
    first_time = min(firsts)
    first = datetime.fromtimestamp(int(first_time.timestamp()) // step * step, UTC)
    if first not in digests:
        first += interval  # the first event's own interval is digested at the boundary after it
    last = max([now - DIGEST_GRACE, *digests])
    if window:
        first = max(first, datetime.fromtimestamp(-(-int(window.start.timestamp()) // step) * step, UTC))
        last = last if window.end is None else min(last, window.end)
    boundary = first
    while boundary <= last:
        report.digests_expected += 1
        if boundary not in digests and _iso(boundary) not in stored:  # one stored but invalid is reported already
            report.breaks.append(Break(f"the digest of {_iso(boundary)} is missing"))
        boundary += interval
    if digests:
        report.last_digest_at = _iso(max(digests))
    previous: Mapping[str, Any] | None = None
    for at in sorted(digests):
        _check_link(digests[at], previous, interval, report)
        previous = digests[at]


def _check_link(
    payload: Mapping[str, Any], previous: Mapping[str, Any] | None, interval: timedelta, report: Report
) -> None:
    if payload.get("problem"):
        report.breaks.append(Break(f"the digest of {payload['at']} found: {payload['problem']}"))
    link = payload.get("previous")
    adjacent = previous is not None and parse_time(payload["at"]) - parse_time(previous["at"]) == interval
    if adjacent and (link is None or link.get("sha256") != hashlib.sha256(jcs(dict(previous or {}))).hexdigest()):
        report.breaks.append(Break(f"the digest of {payload['at']} does not follow the digest before it"))


def _check_digest_against_chain(payload: Mapping[str, Any], segments: Mapping[int, _Segment], report: Report) -> None:
    written_at = parse_time(payload["written_at"])
    listed = {int(head["segment"]) for head in payload["segments"]}
    for number in sorted(set(segments) - listed):
        if segments[number].times and segments[number].times[0] < written_at - CLOCK_SKEW:
            report.breaks.append(Break(f"segment {number} is older than the digest of {payload['at']}, which omits it"))
    for head in payload["segments"]:
        number, seq, signed = int(head["segment"]), int(head["seq"]), str(head["hash"])
        segment = segments.get(number, _Segment())
        problem = _head_problem(number, seq, signed, segment, written_at, payload["at"])
        if problem:
            report.breaks.append(Break(problem, number, seq))


def _head_problem(number: int, seq: int, signed: str, segment: _Segment, written_at: datetime, at: str) -> str | None:
    known = segment.hash_at(seq)
    if known is None:
        if seq < segment.first_seq:
            return f"the digest of {at} names event {number}/{seq}, before {number}/{segment.first_seq} signed earlier"
        if segment.broken_at is not None and seq >= segment.broken_at:
            return None  # the chain's own break is reported already
        return f"the digest of {at} names event {number}/{seq}, which the trail no longer has"
    if known != signed:
        return f"event {number}/{seq} differs from the digest of {at}"
    return _time_problem(number, seq, segment, written_at, at)


def _time_problem(number: int, seq: int, segment: _Segment, written_at: datetime, at: str) -> str | None:
    """Events a digest covers were written before it, those it does not cover after it (within clock skew)."""
    index = seq - segment.first_seq  # of event `seq` among those read (-1: the genesis)
    if index >= 0 and segment.latest_before[index] > written_at + CLOCK_SKEW:
        return f"event {number}/{seq} or one before it is dated after the digest of {at} that covers it"
    not_covered_from = segment.earliest_after[index + 1]
    if segment.broken_at is None and not_covered_from is not None and not_covered_from < written_at - CLOCK_SKEW:
        return f"an event after {number}/{seq} is dated before the digest of {at}, which does not cover it"
    return None


def load_export(directory: Path) -> tuple[dict[str, Any], list[dict[str, Any]], list[DigestVersion]]:
    """manifest.json, events.jsonl and digests.jsonl of an export (README "Checking the trail without us")."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    events = [json.loads(line) for line in _lines(directory / "events.jsonl")]
    versions = [DigestVersion.from_json(json.loads(line)) for line in _lines(directory / "digests.jsonl")]
    return manifest, events, versions


def _lines(path: Path) -> Sequence[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    data = path.read_bytes()
    return load_pem_public_key(data) if data.lstrip().startswith(b"-----") else load_der_public_key(data)


def key_fingerprint(public_key: Any) -> str:
    """sha256 of the key's DER SubjectPublicKeyInfo, as `openssl pkey -pubin -outform DER | sha256sum` gives it."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an exported audit trail with the audit key's public key.")
    parser.add_argument("export", type=Path, help="the export's directory")
    parser.add_argument("--public-key", type=Path, required=True, help="the audit key's public key (PEM or DER)")
    parser.add_argument("--now", type=parse_time, help="check digests up to this time (default: the export's time)")
    arguments = parser.parse_args(argv)
    try:
        manifest, events, versions = load_export(arguments.export)
        public_key = load_public_key(arguments.public_key)
    except (OSError, ValueError, KeyError) as error:
        print(f"cannot read the export or the key: {error}", file=sys.stderr)  # noqa: T201
        return 2
    now = arguments.now or parse_time(manifest["exported_at"])
    report = verify_site(manifest["site"], events, versions, public_key, now)
    print(f"public key sha256 {key_fingerprint(public_key)}")  # noqa: T201 - compare it with the one you were given
    print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))  # noqa: T201
    return 0 if report.intact else 1


if __name__ == "__main__":
    sys.exit(main())
