"""Admins enrol and manage the officials of their own sites; a disabled, deleted or changed account is
refused at once (within the account check's interval), not when its tokens expire."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from local.api_client import ApiClient, Session
from local.aws import AwsEndpoint
from tests.e2e.conftest import ACCOUNT_CHECK_SECONDS
from tests.totp import first_login

pytestmark = pytest.mark.e2e
_numbers = itertools.count(1)
PASSWORD = "Chosen-Password-2026"


def enrol(official, role: str, site: str, sites: list[str] | None = None) -> dict:
    username = f"e2e-{role}-{next(_numbers)}"
    body = {"username": username, "email": f"{username}@example.lv", "role": role, "sites": sites or [site]}
    return official("admin", site).post("/officials", body).expect(201)


def logged_in(api: ApiClient, aws: AwsEndpoint, archive, account: dict) -> Session:
    """Past the first-login password change (the console's path is the browser test's)."""
    aws.client("cognito-idp").admin_set_user_password(
        UserPoolId=archive.user_pool_id, Username=account["username"], Password=PASSWORD, Permanent=True
    )
    return api.login(account["username"], PASSWORD)


def eventually(condition: Callable[[], bool], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_an_admin_enrols_an_official_who_sets_a_password_and_a_totp_app_at_first_login(official, aws, archive):
    account = enrol(official, "operator", "aizkraukle")
    assert account["status"] == "FORCE_CHANGE_PASSWORD"
    cognito = aws.client("cognito-idp")
    client_id = archive.user_pool_client_id
    _, tokens = first_login(cognito, client_id, account["username"], account["temporary_password"], PASSWORD)

    sites = ApiClient(archive.api_url, aws, client_id).with_token(tokens["IdToken"]).get("/sites").expect(200)
    assert [site["site_id"] for site in sites["sites"]] == ["aizkraukle"]
    login = {"USERNAME": account["username"], "PASSWORD": PASSWORD}
    again = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=login)
    assert again["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_an_admin_grants_only_their_own_sites_and_the_refusal_is_audited(official):
    body = {"username": f"e2e-reach-{next(_numbers)}", "role": "dpo", "sites": ["aizkraukle", "birzai"]}

    answer = official("admin", "aizkraukle").post("/officials", body)

    assert answer.status == 403
    events = official("auditor", "birzai").get("/audit", {"site": "birzai", "limit": 100}).expect(200)["events"]
    assert any(e["action"] == "official.manage" and e["outcome"] == "refused" for e in events)


def test_an_admin_neither_sees_nor_manages_another_sites_officials(official):
    birzai_operator = enrol(official, "operator", "birzai")
    admin = official("admin", "aizkraukle")

    listed = [account["username"] for account in admin.get("/officials").expect(200)["officials"]]
    disable = admin.post(f"/officials/{birzai_operator['username']}/disable")

    assert birzai_operator["username"] not in listed
    assert "operator-aizkraukle" in listed
    assert disable.status == 404


def test_only_admins_manage_officials(official):
    assert official("dpo", "aizkraukle").get("/officials").status == 403
    body = {"username": f"e2e-self-{next(_numbers)}", "role": "admin", "sites": ["aizkraukle"]}
    assert official("operator", "aizkraukle").post("/officials", body).status == 403


def test_a_disabled_official_is_refused_at_once_and_works_again_when_enabled(official, api, aws, archive):
    account = enrol(official, "operator", "aizkraukle")
    session = logged_in(api, aws, archive, account)
    assert session.get("/sites").status == 200
    admin = official("admin", "aizkraukle")

    admin.post(f"/officials/{account['username']}/disable").expect(200)
    assert eventually(lambda: session.get("/sites").status == 403, ACCOUNT_CHECK_SECONDS + 3)

    admin.post(f"/officials/{account['username']}/enable").expect(200)
    assert eventually(lambda: session.get("/sites").status == 200, ACCOUNT_CHECK_SECONDS + 3)


def test_a_deleted_official_is_refused_at_once(official, api, aws, archive):
    account = enrol(official, "investigator", "birzai")
    session = logged_in(api, aws, archive, account)
    assert session.get("/sites").status == 200

    aws.client("cognito-idp").admin_delete_user(UserPoolId=archive.user_pool_id, Username=account["username"])

    assert eventually(lambda: session.get("/sites").status == 403, ACCOUNT_CHECK_SECONDS + 3)


def test_a_token_issued_before_a_role_change_stops_working(official, api, aws, archive):
    account = enrol(official, "dpo", "aizkraukle")
    session = logged_in(api, aws, archive, account)
    assert session.get("/sites/aizkraukle/retention").status == 200

    change = {"role": "operator", "sites": ["aizkraukle"]}
    changed = official("admin", "aizkraukle").request("PUT", f"/officials/{account['username']}", change)

    assert changed.expect(200)["role"] == "operator"
    assert eventually(lambda: session.get("/sites/aizkraukle/retention").status == 403, ACCOUNT_CHECK_SECONDS + 3)
    assert api.login(account["username"], PASSWORD).get("/sites/aizkraukle/retention").status == 403


def test_an_admin_cannot_disable_their_own_account(official):
    answer = official("admin", "birzai").post("/officials/admin-birzai/disable")
    assert answer.status == 400
