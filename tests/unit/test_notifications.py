"""What the DPO and admins are told (chalicelib.domain.notifications), with the clock passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from chalicelib.domain.cases import Case, CaseStatus
from chalicelib.domain.catalog import Camera, Gateway
from chalicelib.domain.notifications import SiteState, message, notices
from chalicelib.domain.shares import Share, ShareStatus
from chalicelib.domain.subject_requests import RequestStatus, SubjectRequest

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SILENT_AFTER = timedelta(minutes=10)


def share() -> Share:
    return Share(
        share_id="sh-1",
        site="aizkraukle",
        case_id="case-1",
        case_reference="LV-2026-1",
        clip_ids=("c1",),
        recipient="State Police, Riga unit",
        purpose="evidence for LV-2026-1",
        expires_at=NOW + timedelta(days=2),
        status=ShareStatus.REQUESTED,
        requested_by="user:investigator-aizkraukle",
        requested_at=NOW - timedelta(hours=3),
    )


def request(deadline: date) -> SubjectRequest:
    return SubjectRequest(
        request_id="sr-1",
        site="aizkraukle",
        camera_ids=("aizkraukle-square",),
        start=NOW - timedelta(days=20),
        end=NOW - timedelta(days=20) + timedelta(hours=1),
        received=deadline - timedelta(days=30),
        deadline=deadline,
        description="a woman in a red coat with a dog",
        status=RequestStatus.OPEN,
        created_by="user:dpo-aizkraukle",
        created_at=NOW - timedelta(days=25),
    )


def case() -> Case:
    return Case(
        case_id="case-9",
        site="aizkraukle",
        reference="LV-2026-9",
        reason="vandalism at the fountain",
        status=CaseStatus.OPEN,
        opened_by="user:investigator-aizkraukle",
        opened_at=NOW - timedelta(days=400),
        review_date=NOW - timedelta(days=1),
    )


def camera(last_clip_at: datetime | None) -> Camera:
    return Camera(
        camera_id="aizkraukle-square",
        site_id="aizkraukle",
        name="Town square",
        location="Fountain",
        created_at=NOW - timedelta(days=30),
        last_clip_at=last_clip_at,
    )


def gateway(last_seen_at: datetime | None, revoked: bool = False) -> Gateway:
    return Gateway(
        gateway_id="gw-aizkraukle-1",
        site_id="aizkraukle",
        name="box",
        camera_ids=("aizkraukle-square",),
        secret_sha256="0" * 64,
        created_at=NOW - timedelta(days=30),
        created_by="user:admin-aizkraukle",
        last_seen_at=last_seen_at,
        revoked_at=NOW if revoked else None,
    )


def calm() -> SiteState:
    """Nothing to tell: everything recent, nothing waiting."""
    return SiteState(
        site="aizkraukle",
        today=NOW.date(),
        awaiting_approval=[],
        open_requests=[],
        due_for_review=[],
        cameras=[camera(NOW - timedelta(minutes=1))],
        gateways=[gateway(NOW - timedelta(minutes=1))],
        last_digest_problem="",
        last_boundary=NOW - timedelta(minutes=5),
    )


def kinds(state: SiteState) -> list[str]:
    return [notice.kind for notice in notices(state, NOW, SILENT_AFTER)]


def test_a_calm_site_is_told_nothing() -> None:
    assert kinds(calm()) == []


def test_a_share_awaiting_approval_is_told() -> None:
    (notice,) = notices(replace(calm(), awaiting_approval=[share()]), NOW, SILENT_AFTER)
    assert (notice.kind, notice.key) == ("share_awaits_approval", "share:sh-1")


def test_subject_requests_are_told_within_five_days_of_their_deadline_and_again_when_overdue() -> None:
    assert kinds(replace(calm(), open_requests=[request(NOW.date() + timedelta(days=6))])) == []
    due = notices(replace(calm(), open_requests=[request(NOW.date() + timedelta(days=5))]), NOW, SILENT_AFTER)
    overdue = notices(replace(calm(), open_requests=[request(NOW.date() - timedelta(days=1))]), NOW, SILENT_AFTER)
    assert [n.kind for n in due + overdue] == ["subject_request_due", "subject_request_overdue"]
    assert due[0].key != overdue[0].key  # a new state is told again


def test_a_case_past_review_is_told() -> None:
    assert kinds(replace(calm(), due_for_review=[case()])) == ["case_past_review"]


def test_a_silent_camera_is_told_once_per_silence() -> None:
    first = notices(replace(calm(), cameras=[camera(NOW - timedelta(minutes=11))]), NOW, SILENT_AFTER)
    later = notices(
        replace(calm(), cameras=[camera(NOW - timedelta(minutes=11))]), NOW + timedelta(hours=1), SILENT_AFTER
    )
    again = notices(
        replace(calm(), cameras=[camera(NOW - timedelta(minutes=11) + timedelta(hours=2))]),
        NOW + timedelta(hours=3),
        SILENT_AFTER,
    )
    assert [n.kind for n in first] == ["camera_silent"]
    assert first[0].key == later[0].key != again[0].key


def test_a_gateway_not_heard_from_is_told_unless_revoked() -> None:
    assert kinds(replace(calm(), gateways=[gateway(None)])) == ["gateway_not_heard_from"]
    assert kinds(replace(calm(), gateways=[gateway(NOW - timedelta(hours=1), revoked=True)])) == []


def test_an_audit_digest_with_a_break_or_missing_is_told() -> None:
    assert kinds(replace(calm(), last_digest_problem="segment 3 does not lead from the last digest")) == [
        "audit_verification_failed"
    ]
    assert kinds(replace(calm(), last_digest_problem=None)) == ["audit_verification_failed"]


def test_messages_hold_ids_and_times_only() -> None:
    everything = replace(
        calm(),
        awaiting_approval=[share()],
        open_requests=[request(NOW.date())],
        due_for_review=[case()],
        cameras=[camera(None)],
        gateways=[gateway(None)],
        last_digest_problem=None,
    )
    subject, body = message("aizkraukle", notices(everything, NOW, SILENT_AFTER))
    assert "6 item(s)" in subject
    # No recipient, purpose, description, reason or reference: personal data stays in the archive.
    for secret in ("State Police", "evidence", "red coat", "vandalism", "LV-2026-9", "LV-2026-1"):
        assert secret not in body
