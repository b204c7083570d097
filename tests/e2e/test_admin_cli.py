"""safe-society-admin against the local archive: logged in through Cognito, talking only to the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from admin.cli import main
from chalicelib.domain.audit_chain import SEGMENTS
from gateway.uplink import Uplink, UplinkError, put_clip
from local.demo import DEMO_PASSWORD, Official, create_official, demo_plan
from local.stack import ROOT
from tests.e2e.conftest import wait_for_status
from tests.e2e.test_sealed_uploads import register_sealed, seal

pytestmark = pytest.mark.e2e
NEW_SITE = "cli-town"
EXAMPLE_SITE = "example-town"  # infra/sites.example.yaml's site, under an id of its own (the demo's stay as they are)


@pytest.fixture(scope="module")
def admin_cli(archive, aws):
    """`admin_cli(*words)`: run the tool as an admin of aizkraukle, cli-town and example-town; (exit code, stdout,
    stderr)."""
    create_official(aws, archive.user_pool_id, Official("admin-cli", "admin", ("aizkraukle", NEW_SITE, EXAMPLE_SITE)))
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


def test_the_example_sites_file_applies_as_reviewed_and_its_dry_run_changes_nothing(admin_cli, capsys, tmp_path):
    example = (ROOT / "infra" / "sites.example.yaml").read_text(encoding="utf-8")
    path = tmp_path / "sites.yaml"
    path.write_text(example.replace("\n  aizkraukle:\n", f"\n  {EXAMPLE_SITE}:\n", 1), encoding="utf-8")
    reviewed = yaml.safe_load(path.read_text(encoding="utf-8"))["sites"][EXAMPLE_SITE]

    code, out, err = admin_cli("sites", "apply", str(path), "--dry-run", "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["sites"] == [{"site_id": EXAMPLE_SITE, "would_apply": reviewed}]
    code, _, err = admin_cli("sites", "show", EXAMPLE_SITE, capsys=capsys)
    assert (code, "404 not_found" in err) == (1, True)  # the dry run made nothing

    code, out, err = admin_cli("sites", "apply", str(path), "--json", capsys=capsys)
    assert code == 0, err
    _, out, _ = admin_cli("sites", "show", EXAMPLE_SITE, "--json", capsys=capsys)
    shown = json.loads(out)
    for field in ("name", "country", "timezone", "max_retention_days", "max_hold_days", "legal_basis", "controller"):
        assert shown[field] == reviewed[field], field
    assert shown["retention_days"] == reviewed["initial_retention_days"]


def test_cameras_are_added_and_listed_and_a_second_of_the_same_id_is_refused(admin_cli, capsys, tmp_path):
    admin_cli("sites", "apply", str(site_file(tmp_path)), capsys=capsys)
    code, out, err = admin_cli(
        "cameras", "add", NEW_SITE, f"{NEW_SITE}-bridge", "--name", "Bridge", "--location", "River bank", capsys=capsys
    )
    assert code == 0, err
    assert f"camera_id: {NEW_SITE}-bridge" in out  # said in words without --json

    _, out, _ = admin_cli("cameras", "list", NEW_SITE, "--json", capsys=capsys)
    (listed,) = [c for c in json.loads(out)["cameras"] if c["camera_id"] == f"{NEW_SITE}-bridge"]
    assert (listed["name"], listed["location"], listed["site_id"]) == ("Bridge", "River bank", NEW_SITE)
    code, out, err = admin_cli(
        "cameras", "add", NEW_SITE, f"{NEW_SITE}-bridge", "--name", "Bridge", "--location", "River bank", capsys=capsys
    )
    assert (code, out) == (1, "")
    assert "409 conflict" in err


def test_an_officials_role_and_sites_are_changed(admin_cli, capsys, tmp_path):
    admin_cli("sites", "apply", str(site_file(tmp_path)), capsys=capsys)
    admin_cli("officials", "add", "cli-promoted", "--role", "operator", "--site", "aizkraukle", capsys=capsys)

    code, _, err = admin_cli(
        "officials",
        "set",
        "cli-promoted",
        "--role",
        "investigator",
        "--site",
        "aizkraukle",
        "--site",
        NEW_SITE,
        capsys=capsys,
    )

    assert code == 0, err
    _, listing, _ = admin_cli("officials", "list", "--json", capsys=capsys)
    (listed,) = [o for o in json.loads(listing)["officials"] if o["username"] == "cli-promoted"]
    assert (listed["role"], sorted(listed["sites"])) == ("investigator", sorted(["aizkraukle", NEW_SITE]))


def test_local_logs_in_with_the_demo_login_of_the_run_info_file(archive, capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("SAFE_ADMIN_PASSWORD", raising=False)  # the password comes from the file
    run_info = tmp_path / "run-info.json"
    run_info.write_text(json.dumps(archive.as_json(run_info)))

    code = main(["--local", str(run_info), "--user", "admin-aizkraukle", "cameras", "list", "aizkraukle", "--json"])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "aizkraukle-square" in {camera["camera_id"] for camera in json.loads(out)["cameras"]}


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
