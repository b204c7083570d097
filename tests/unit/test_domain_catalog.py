"""Gateway credentials: secrets stored as hashes, tokens split strictly; which cameras are silent
(chalicelib.domain.catalog)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter

from chalicelib.domain.catalog import (
    Gateway,
    gateway_token,
    new_gateway_id,
    new_gateway_secret,
    secret_hash,
    secret_matches,
    silent_cameras,
    split_gateway_token,
)
from chalicelib.services.registry import GatewayView

SECRET = "s" * 43


def test_new_secret_is_stored_as_its_sha256() -> None:
    secret, stored = new_gateway_secret()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored


def test_new_secrets_are_long_and_unique() -> None:
    secrets = {new_gateway_secret()[0] for _ in range(20)}
    assert len(secrets) == 20
    assert min(len(secret) for secret in secrets) >= 43  # 32 random bytes, base64url


def test_right_secret_matches_its_hash() -> None:
    assert secret_matches(SECRET, secret_hash(SECRET))


@pytest.mark.parametrize(
    "presented", ["t" * 43, SECRET[:-1], SECRET + "s", ""], ids=["other", "shorter", "longer", "empty"]
)
def test_wrong_secret_does_not_match(presented: str) -> None:
    assert not secret_matches(presented, secret_hash(SECRET))


def test_hash_itself_is_not_a_secret_that_matches() -> None:
    # Given a leaked hash, presenting it as the secret proves nothing
    stored = secret_hash(SECRET)
    assert not secret_matches(stored, stored)


def test_new_gateway_token_splits_back() -> None:
    gateway_id = new_gateway_id("aizkraukle")
    secret, _ = new_gateway_secret()
    assert split_gateway_token(gateway_token(gateway_id, secret)) == (gateway_id, secret)


@pytest.mark.parametrize("secret", ["s" * 20, "s" * 100], ids=["shortest", "longest"])
def test_secret_at_length_bounds_accepted(secret: str) -> None:
    assert split_gateway_token(f"gw-birzai-1.{secret}") == ("gw-birzai-1", secret)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param(f"gw-birzai-1{SECRET}", id="no_dot"),
        pytest.param(f".{SECRET}", id="no_id"),
        pytest.param("gw-birzai-1.", id="no_secret"),
        pytest.param(f"gw-.{SECRET}", id="bare_prefix"),
        pytest.param(f"birzai-1.{SECRET}", id="no_gw_prefix"),
        pytest.param(f"GW-birzai-1.{SECRET}", id="upper_case_id"),
        pytest.param(f"gw-birzai_1.{SECRET}", id="underscore_in_id"),
        pytest.param(f"gw-birzai/1.{SECRET}", id="slash_in_id"),
        pytest.param(f"gw-{'a' * 61}.{SECRET}", id="id_too_long"),
        pytest.param(f"gw-birzai-1.{'s' * 19}", id="secret_too_short"),
        pytest.param(f"gw-birzai-1.{'s' * 101}", id="secret_too_long"),
        pytest.param(f"gw-birzai-1.{SECRET[:-1]}=", id="padding_in_secret"),
        pytest.param(f"gw-birzai-1.{SECRET}.{SECRET}", id="second_dot"),
        pytest.param(f"gw-birzai-1. {SECRET}", id="space_in_secret"),
        pytest.param(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1c2VyIiwidG9rZW5fdXNlIjoiaWQifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
            id="jwt",
        ),
    ],
)
def test_malformed_gateway_token_refused(token: str) -> None:
    assert split_gateway_token(token) is None


@pytest.mark.parametrize("token", [f"gw-birzai-1\n.{SECRET}", f"gw-birzai-1.{SECRET}\n"], ids=["in_id", "in_secret"])
def test_gateway_token_with_newline_refused(token: str) -> None:
    assert split_gateway_token(token) is None


def test_gateway_as_admins_see_it_hides_secret_hash() -> None:
    stored = secret_hash(SECRET)
    gateway = Gateway(
        gateway_id="gw-birzai-1",
        site_id="birzai",
        name="Vytauto g. box",
        camera_ids=("cam-01",),
        secret_sha256=stored,
        created_at=datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
        created_by="user:admin",
    )
    adapter = TypeAdapter(GatewayView)
    view = adapter.dump_python(adapter.validate_python(gateway, from_attributes=True), mode="json")
    assert "secret_sha256" not in view
    assert stored not in repr(view)
    assert view["gateway_id"] == "gw-birzai-1"
    assert view["created_at"] == "2026-11-25T14:00:00.000Z"


HEARD = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # when the gateway's last heartbeat arrived
SILENT_AFTER, CLOCK_SKEW = timedelta(minutes=10), timedelta(minutes=5)


def reporting(segment_at: datetime) -> Gateway:
    """A gateway whose heartbeat, arrived at HEARD, says its camera's last segment ended at `segment_at`."""
    return Gateway(
        gateway_id="gw-birzai-1",
        site_id="birzai",
        name="box",
        camera_ids=("cam-01",),
        secret_sha256=secret_hash(SECRET),
        created_at=HEARD - timedelta(days=1),
        created_by="user:admin",
        last_seen_at=HEARD,
        last_heartbeat={"cameras": {"cam-01": {"last_segment_at": segment_at.isoformat(), "restarts": 0}}},
    )


def test_a_segment_the_heartbeat_reports_keeps_its_camera_from_being_silent() -> None:
    gateway = reporting(HEARD - timedelta(minutes=1))
    assert silent_cameras(gateway, {"cam-01": None}, HEARD + timedelta(minutes=5), SILENT_AFTER, CLOCK_SKEW) == []


def test_a_segment_a_little_ahead_of_the_archives_clock_still_counts() -> None:
    gateway = reporting(HEARD + timedelta(minutes=2))  # within the skew a clip's end is allowed
    assert silent_cameras(gateway, {"cam-01": None}, HEARD + timedelta(minutes=5), SILENT_AFTER, CLOCK_SKEW) == []


@pytest.mark.parametrize("ahead", [timedelta(minutes=6), timedelta(days=1)])
def test_a_segment_from_the_future_does_not_hide_a_silent_camera(ahead: timedelta) -> None:
    # A faulty box, or an old agent's state file from a clip the archive refused: not recorded yet.
    gateway = reporting(HEARD + ahead)
    now = HEARD + timedelta(minutes=11)
    assert silent_cameras(gateway, {"cam-01": None}, now, SILENT_AFTER, CLOCK_SKEW) == ["cam-01"]
    indexed: dict[str, datetime | None] = {"cam-01": now - timedelta(minutes=1)}  # what the archive indexed
    assert silent_cameras(gateway, indexed, now, SILENT_AFTER, CLOCK_SKEW) == []
