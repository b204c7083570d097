"""Admins enrol and manage officials of their own sites (and see no footage doing it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.domain.audit import Outcome
from chalicelib.domain.officials import (
    Official,
    OfficialAccount,
    OfficialRole,
    check_grant,
    check_manageable,
    temporary_password,
)
from chalicelib.domain.principal import Principal
from chalicelib.errors import NotFound
from chalicelib.model import Model
from chalicelib.policy import Action, require_role
from chalicelib.store.audit import AuditLog
from chalicelib.store.officials import OfficialDirectory


class OfficialList(Model):
    officials: list[OfficialAccount]


class EnrolledOfficial(OfficialAccount):
    temporary_password: str = Field(description="for the first login, when a new password is chosen; shown once")


class Officials:
    def __init__(self, directory: OfficialDirectory, audit: AuditLog) -> None:
        self._directory = directory
        self._audit = audit

    def officials(self, principal: Principal) -> OfficialList:
        """The accounts the admin manages: those of their sites only."""
        require_role(principal, Action.LIST_OFFICIALS)
        mine = [
            account for account in self._directory.officials() if account.sites and account.sites <= principal.sites
        ]
        return OfficialList(officials=sorted(mine, key=lambda account: account.username))

    def enrol(self, principal: Principal, new: Official, now: datetime) -> EnrolledOfficial:
        require_role(principal, Action.MANAGE_OFFICIAL)
        check_grant(principal, new, Action.MANAGE_OFFICIAL)
        password = temporary_password()
        created = self._directory.create(new, password)
        account = self._record(principal, created, now, f"enrolled as {new.role} of {', '.join(sorted(new.sites))}")
        return EnrolledOfficial(**account.model_dump(), temporary_password=password)

    def change(self, principal: Principal, username: str, wanted: OfficialRole, now: datetime) -> OfficialAccount:
        before = self._manageable(principal, username)
        check_grant(principal, wanted, Action.MANAGE_OFFICIAL)
        self._directory.change(username, wanted.role, wanted.sites)
        detail = f"now {wanted.role} of {', '.join(sorted(wanted.sites))} (was {before.role})"
        return self._record(principal, before, now, detail)

    def set_enabled(self, principal: Principal, username: str, enabled: bool, now: datetime) -> OfficialAccount:
        before = self._manageable(principal, username)
        self._directory.set_enabled(username, enabled)
        return self._record(principal, before, now, "enabled" if enabled else "disabled")

    def reset_password(self, principal: Principal, username: str, now: datetime) -> EnrolledOfficial:
        before = self._manageable(principal, username)
        password = temporary_password()
        self._directory.set_temporary_password(username, password)
        account = self._record(principal, before, now, "given a new temporary password")
        return EnrolledOfficial(**account.model_dump(), temporary_password=password)

    def _manageable(self, principal: Principal, username: str) -> OfficialAccount:
        require_role(principal, Action.MANAGE_OFFICIAL, target=f"official:{username}")
        return check_manageable(principal, self._directory.get(username), username, Action.MANAGE_OFFICIAL)

    def _record(self, principal: Principal, before: OfficialAccount, now: datetime, what: str) -> OfficialAccount:
        """Audited in every site the account held or holds now; the account as it is now."""
        after = self._directory.get(before.username)
        if after is None:
            raise NotFound(f"official {before.username} was deleted meanwhile")
        for site in sorted(before.sites | after.sites):
            target = f"official:{before.username}"
            self._audit.record(principal, Action.MANAGE_OFFICIAL, site, target, Outcome.ALLOWED, now, reason=what)
        return after
