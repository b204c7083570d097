"""Rules bounding what an admin may grant, and how long the pool's word on an account is trusted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.auth import CredentialsRejected, check_account_current
from chalicelib.domain.officials import OfficialAccount, OfficialRole, check_grant, check_manageable
from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import AccessRefused, HiddenRefusal, InvalidRequest
from chalicelib.store.officials import AccountStates

ADMIN = Principal(id="user:admin-aizkraukle", role=Role.ADMIN, sites=frozenset({"aizkraukle"}))


def account(username: str = "j.ozola", **changes: object) -> OfficialAccount:
    values: dict[str, object] = {
        "username": username,
        "email": None,
        "role": Role.OPERATOR,
        "sites": frozenset({"aizkraukle"}),
        "enabled": True,
        "status": "CONFIRMED",
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    return OfficialAccount.model_validate(values | changes)


def test_an_admin_grants_their_own_sites():
    check_grant(ADMIN, OfficialRole(role=Role.DPO, sites=frozenset({"aizkraukle"})), "official.manage")


def test_an_admin_cannot_grant_another_site():
    with pytest.raises(AccessRefused) as refused:
        check_grant(ADMIN, OfficialRole(role=Role.DPO, sites=frozenset({"aizkraukle", "birzai"})), "official.manage")
    assert refused.value.site == "birzai"


@pytest.mark.parametrize("role", [Role.GATEWAY, Role.SYSTEM, Role.RECIPIENT])
def test_no_official_holds_a_machine_role(role):
    with pytest.raises(InvalidRequest):
        check_grant(ADMIN, OfficialRole(role=role, sites=frozenset({"aizkraukle"})), "official.manage")


def test_an_account_with_a_site_beyond_the_admins_is_hidden():
    with pytest.raises(HiddenRefusal):
        check_manageable(ADMIN, account(sites=frozenset({"aizkraukle", "birzai"})), "j.ozola", "official.manage")


def test_an_admin_does_not_manage_their_own_account():
    with pytest.raises(InvalidRequest):
        check_manageable(ADMIN, account("admin-aizkraukle", role=Role.ADMIN), "admin-aizkraukle", "official.manage")


class Directory:
    def __init__(self) -> None:
        self.accounts: dict[str, OfficialAccount] = {"j.ozola": account()}
        self.asked = 0

    def get(self, username: str) -> OfficialAccount | None:
        self.asked += 1
        return self.accounts.get(username)


def test_the_pools_word_is_trusted_for_at_most_the_interval():
    directory, clock = Directory(), [0.0]
    states = AccountStates(directory, 60, clock=lambda: clock[0])
    assert states.current("j.ozola") == account()
    directory.accounts["j.ozola"] = account(enabled=False)

    clock[0] = 59.9
    assert states.current("j.ozola").enabled is True  # remembered
    clock[0] = 60.0
    assert states.current("j.ozola").enabled is False  # asked again
    assert directory.asked == 2


@pytest.mark.parametrize(
    ("current", "says"),
    [
        (None, "no longer exists"),
        (account(enabled=False), "disabled"),
        (account(role=Role.DPO), "changed"),
        (account(sites=frozenset({"aizkraukle", "birzai"})), "changed"),
    ],
)
def test_a_token_of_an_account_that_changed_is_rejected(current, says):
    token_holder = Principal(id="user:j.ozola", role=Role.OPERATOR, sites=frozenset({"aizkraukle"}))
    with pytest.raises(CredentialsRejected, match=says):
        check_account_current(token_holder, current)
