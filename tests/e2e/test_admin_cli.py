"""safe-society-admin against the local archive: logged in through Cognito, talking only to the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin.cli import main
from chalicelib.domain.audit_chain import SEGMENTS
from gateway.uplink import Uplink, UplinkError, put_clip
from local.demo import DEMO_PASSWORD, Official, create_official, demo_plan
from tests.e2e.conftest import wait_for_status
from tests.e2e.test_sealed_uploads import register_sealed, seal

pytestmark = pytest.mark.e2e
NEW_SITE = "cli-town"


@pytest.fixture(scope="module")
def admin_cli(archive, aws):
    """`admin_cli(*words)`: run the tool as an admin of aizkraukle and cli-town; (exit code, stdout, stderr)."""
    create_official(aws, archive.user_pool_id, Official("admin-cli", "admin", ("aizkraukle", NEW_SITE)))
    mp = pytest.MonkeyPatch()
    mp.setenv("SAFE_ADMIN_PASSWORD", DEMO_PASSWORD)

    def run(*words: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        code = main(["--api", archive.api_url, "--user", "admin-cli", *words])
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    mp.undo()


def site_file(tmp_path: Path, **changes) -> Path:
    config = demo_plan()["sites"]["birzai"] | {"name": "CLI town", "max_retention_days": 14} | changes
    path = tmp_path / "sites.yaml"
    path.write_text(json.dumps({"sites": {NEW_SITE: config}}), encoding="utf-8")  # JSON is YAML
    return path


def test_sites_come_from_a_reviewed_file_through_the_api_and_are_audited(admin_cli, capsys, tmp_path, table):
    code, out, err = admin_cli("sites", "apply", str(site_file(tmp_path)), "--json", capsys=capsys)
    assert code == 0, err
    (applied,) = json.loads(out)["sites"]
    assert (applied["site_id"], applied["max_retention_days"], applied["retention_days"]) == (NEW_SITE, 14, 7)

    code, out, _ = admin_cli("sites", "show", NEW_SITE, "--json", capsys=capsys)
    assert json.loads(out)["name"] == "CLI town"
    recorded = [
        item
        for segment in range(SEGMENTS)
        for item in table.query(
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "chain"},
            ExpressionAttributeValues={":c": f"{NEW_SITE}/{segment}"},
        )["Items"]
        if item["action"] == "site.configure"
    ]
    assert {(e["actor"], e["target"], e["reason"]) for e in recorded} == {
        ("user:admin-cli", f"site:{NEW_SITE}", "created: maximum 14 days, hold 1095 days")
    }


def test_a_lowered_maximum_below_the_policy_in_force_is_refused_clearly(admin_cli, capsys, tmp_path):
    admin_cli("sites", "apply", str(site_file(tmp_path)), capsys=capsys)
    code, out, err = admin_cli("sites", "apply", str(site_file(tmp_path, max_retention_days=5)), capsys=capsys)
    assert code == 1
    assert out == ""
    assert "409 conflict" in err
    assert "the DPO shortens the retention first" in err


def test_a_legal_basis_with_a_bidirectional_override_is_refused(admin_cli, capsys, tmp_path):
    path = site_file(tmp_path, legal_basis="Cabinet Regulation No. \u202e351 (2017)")
    code, _, err = admin_cli("sites", "apply", str(path), capsys=capsys)
    assert code == 1
    assert "400 invalid_request" in err
    assert "U+202E" in err


def test_a_gateway_token_is_shown_once_and_revocation_refuses_it(admin_cli, capsys, archive):
    code, out, _ = admin_cli(
        "gateways", "add", "aizkraukle", "--name", "cli box", "--camera", "aizkraukle-park", "--json", capsys=capsys
    )
    created = json.loads(out)
    assert code == 0
    box = Uplink(archive.api_url, created["token"])
    box.heartbeat({"cameras": {"aizkraukle-park": {"restarts": 0}}})

    _, listing, _ = admin_cli("gateways", "list", "--json", capsys=capsys)
    assert created["token"] not in listing
    code, _, _ = admin_cli("gateways", "revoke", created["gateway_id"], capsys=capsys)
    assert code == 0
    with pytest.raises(UplinkError) as refused:
        box.heartbeat({})
    assert refused.value.status == 403
    _, health, _ = admin_cli("health", "--json", capsys=capsys)
    (revoked,) = [g for g in json.loads(health)["gateways"] if g["gateway_id"] == created["gateway_id"]]
    assert revoked["revoked"] is True
    assert revoked["last_seen_at"] is not None


def test_officials_are_enrolled_disabled_enabled_and_reset(admin_cli, capsys, api):
    code, out, _ = admin_cli(
        "officials", "add", "cli-operator", "--role", "operator", "--site", "aizkraukle", "--json", capsys=capsys
    )
    assert code == 0
    first_password = json.loads(out)["temporary_password"]
    assert admin_cli("officials", "disable", "cli-operator", capsys=capsys)[0] == 0
    _, listing, _ = admin_cli("officials", "list", "--json", capsys=capsys)
    (listed,) = [o for o in json.loads(listing)["officials"] if o["username"] == "cli-operator"]
    assert listed["enabled"] is False
    assert admin_cli("officials", "enable", "cli-operator", capsys=capsys)[0] == 0
    code, out, _ = admin_cli("officials", "reset-password", "cli-operator", "--json", capsys=capsys)
    assert json.loads(out)["temporary_password"] != first_password
    code, _, err = admin_cli(
        "officials", "set", "cli-operator", "--role", "operator", "--site", "birzai", capsys=capsys
    )
    assert code == 1
    assert "403" in err  # birzai is not one of this admin's sites


def test_a_rotated_site_key_still_opens_what_was_sealed_to_the_old_one(
    admin_cli, capsys, archive, record, gateway, tmp_path
):
    old_recipient = archive.gateways["aizkraukle"]["site_recipient"]
    code, _, err = admin_cli("site-keys", "make", "aizkraukle", capsys=capsys)
    assert code == 1
    assert "409 conflict" in err  # it has one: making another would be a rotation
    code, out, _ = admin_cli("site-keys", "rotate", "aizkraukle", "--json", capsys=capsys)
    rotated = json.loads(out)
    assert code == 0
    assert rotated["recipient"] != old_recipient

    for recipient in (old_recipient, rotated["recipient"]):
        clip = record("aizkraukle-station")
        sealed_path = tmp_path / f"{recipient[-8:]}.age"
        registered = register_sealed(archive, "aizkraukle", clip, seal(clip.path, sealed_path, recipient))
        put_clip(registered["upload"], sealed_path)
        state = wait_for_status(gateway("aizkraukle"), registered["clip_id"], {"indexed", "quarantined"})
        assert state["status"] == "indexed", state["quarantine_reason"]


def test_errors_are_said_in_words(capsys, tmp_path):
    assert main(["--user", "x", "health"]) == 1
    assert "--api URL" in capsys.readouterr().err
    assert main(["--local", str(tmp_path / "none.json"), "--user", "x", "health"]) == 1
    assert "no local archive running here" in capsys.readouterr().err
