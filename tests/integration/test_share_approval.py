"""Four eyes: whatever the role table says, nobody approves a share they requested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from chalicelib import wiring
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.shares import Share, ShareStatus
from chalicelib.errors import AccessRefused
from chalicelib.store.shares import ShareBook

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def requested_by(user: str) -> Share:
    return Share(
        share_id="01JSHARE000000000000000000",
        site="birzai",
        case_id="01JCASE0000000000000000000",
        case_reference="LT-1",
        clip_ids=("01JCLIP0000000000000000000",),
        recipient="police",
        purpose="evidence",
        expires_at=NOW + timedelta(days=1),
        status=ShareStatus.REQUESTED,
        requested_by=user,
        requested_at=NOW,
    )


def test_a_share_is_never_approved_by_its_requester(deployed):
    book = ShareBook(boto3.resource("dynamodb").Table(wiring.get_settings().shares_table))
    book.add(requested_by("user:both-hats"))
    both_hats = Principal(id="user:both-hats", role=Role.DPO, sites=frozenset({"birzai"}))

    with pytest.raises(AccessRefused, match="other than its requester"):
        wiring.shares().approve(both_hats, "01JSHARE000000000000000000", NOW)

    assert book.get("01JSHARE000000000000000000").status == "requested"
