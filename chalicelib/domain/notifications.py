"""What the DPO and the admins of a site must be told, each thing once, in ids and times only.

Plain values in (what the stores hold now), notices out; the clock is passed in. A notice's `key` names the
thing and the state it is in, so that the same state is told once, and a new state (a request now overdue,
a camera silent again after it recovered) is told again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from chalicelib.domain.cases import Case
from chalicelib.domain.catalog import Camera, CameraStatus, Gateway, is_silent
from chalicelib.domain.shares import Share
from chalicelib.domain.subject_requests import SubjectRequest
from chalicelib.domain.timeutil import iso

# Subject requests due within this many days are told, before they are overdue (GDPR Art. 12(3)).
DUE_SOON = timedelta(days=5)


@dataclass(frozen=True)
class Notice:
    site: str
    key: str  # the thing and its state: told once
    kind: str
    text: str  # ids and times only: the message goes to e-mail


@dataclass(frozen=True)
class SiteState:
    """What the stores hold of one site at the moment of the check."""

    site: str
    today: date  # in the site's zone: deadlines are the site's days
    awaiting_approval: Iterable[Share]
    open_requests: Iterable[SubjectRequest]
    due_for_review: Iterable[Case]
    cameras: Iterable[Camera]
    gateways: Iterable[Gateway]
    # The audit digest of the last boundary: None if it is missing though the one before was written, else
    # the break it records ("" if none).
    last_digest_problem: str | None
    last_boundary: datetime


def notices(state: SiteState, now: datetime, silent_after: timedelta) -> list[Notice]:
    """Everything about the site that needs the DPO or an admin now."""
    site = state.site
    found = [
        Notice(
            site,
            f"share:{s.share_id}",
            "share_awaits_approval",
            f"share {s.share_id} (case {s.case_id}) awaits approval since {iso(s.requested_at)}",
        )
        for s in state.awaiting_approval
    ]
    for request in state.open_requests:
        if request.deadline < state.today:
            found.append(
                Notice(
                    site,
                    f"request:{request.request_id}:overdue",
                    "subject_request_overdue",
                    f"subject request {request.request_id} is overdue: due {request.deadline.isoformat()}",
                )
            )
        elif request.deadline - state.today <= DUE_SOON:
            found.append(
                Notice(
                    site,
                    f"request:{request.request_id}:due",
                    "subject_request_due",
                    f"subject request {request.request_id} is due {request.deadline.isoformat()}",
                )
            )
    found += [
        Notice(
            site,
            f"case:{c.case_id}:review:{iso(c.review_date)}",
            "case_past_review",
            f"case {c.case_id} is past its review date {iso(c.review_date)}",
        )
        for c in state.due_for_review
    ]
    found += [
        Notice(
            site,
            f"camera:{c.camera_id}:{_since(c.last_clip_at)}",
            "camera_silent",
            f"camera {c.camera_id} silent: last clip {_since(c.last_clip_at)}",
        )
        for c in state.cameras
        if c.status == CameraStatus.ACTIVE and is_silent(c.last_clip_at, now, silent_after)
    ]
    found += [
        Notice(
            site,
            f"gateway:{g.gateway_id}:{_since(g.last_seen_at)}",
            "gateway_not_heard_from",
            f"gateway {g.gateway_id} not heard from: last heartbeat {_since(g.last_seen_at)}",
        )
        for g in state.gateways
        if not g.revoked and is_silent(g.last_seen_at, now, silent_after)
    ]
    if state.last_digest_problem is None or state.last_digest_problem:
        what = "is missing" if state.last_digest_problem is None else "records a break"
        found.append(
            Notice(
                site,
                f"audit:{iso(state.last_boundary)}",
                "audit_verification_failed",
                f"the audit digest of {iso(state.last_boundary)} {what}: verify the trail (GET /audit/verify)",
            )
        )
    return found


def _since(moment: datetime | None) -> str:
    return iso(moment) if moment else "never"


def message(site: str, told: list[Notice]) -> tuple[str, str]:
    """The subject and body of one e-mail for a site's new notices."""
    subject = f"Safe Society archive, {site}: {len(told)} item(s) need you"
    body = "\n".join(f"- [{notice.kind}] {notice.text}" for notice in told)
    return subject[:100], body


def for_admins(site: str, site_topic_arn: str, body: str) -> str:
    """A site's message as the archive's admins get it while nobody is subscribed to the site's own topic (a
    site configured after the template was deployed): what they are told, and how to hand it on."""
    return (
        f"Nobody has a confirmed subscription to {site}'s notifications yet, so they come to you too. "
        f"Subscribe its DPO and admins: aws sns subscribe --topic-arn {site_topic_arn} --protocol email "
        f"--notification-endpoint <their mailbox>\n\n{body}"
    )
