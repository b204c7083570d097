"""Officials' accounts as admins manage them, and the rules that bound what an admin may grant."""

from __future__ import annotations

import secrets
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.domain.catalog import SITE_ID_PATTERN
from chalicelib.domain.clips import UtcTime
from chalicelib.domain.principal import Principal, Role
from chalicelib.errors import AccessRefused, HiddenRefusal, InvalidRequest
from chalicelib.model import Model

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
SiteId = Annotated[str, StringConstraints(pattern=SITE_ID_PATTERN)]


def parse_sites(text: str) -> frozenset[str]:
    return frozenset(site.strip() for site in text.split(",") if site.strip())


class OfficialRole(Model):
    """The one role and the sites an account holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role = Field(description="operator, investigator, dpo, admin or auditor")
    sites: frozenset[SiteId] = Field(min_length=1, max_length=20)

    def check_official(self) -> None:
        if self.role not in (Role.OPERATOR, Role.INVESTIGATOR, Role.DPO, Role.ADMIN, Role.AUDITOR):
            raise InvalidRequest(f"{self.role} is not a role an official can hold")


class Official(OfficialRole):
    """A new account."""

    username: str = Field(pattern=USERNAME_PATTERN)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)


class OfficialAccount(Model):
    model_config = ConfigDict(frozen=True)

    username: str
    email: str | None
    role: Role | None = Field(description="null when the account holds no single official role")
    sites: frozenset[str]
    enabled: bool
    status: str = Field(description="Cognito's: FORCE_CHANGE_PASSWORD until the first login, then CONFIRMED")
    created_at: UtcTime


def temporary_password() -> str:
    """A first password the pool's policy accepts (12+ characters, upper, lower, digit); changed at first login."""
    return f"{secrets.token_urlsafe(18)}-Aa7"


def check_grant(admin: Principal, wanted: OfficialRole, action: str) -> None:
    """An admin grants only the sites they administer themselves."""
    wanted.check_official()
    beyond = sorted(wanted.sites - admin.sites)
    if beyond:
        raise AccessRefused(
            f"an admin may grant only their own sites, not {', '.join(beyond)}",
            action=action,
            site=beyond[0],
        )


def check_manageable(admin: Principal, account: OfficialAccount | None, username: str, action: str) -> OfficialAccount:
    """An account is an admin's to manage when all its sites are theirs; others' are not theirs to know of."""
    if account is None:
        raise HiddenRefusal(f"official {username} not found", action=action, site="", target=f"official:{username}")
    if not account.sites or not account.sites <= admin.sites:
        site = min(account.sites - admin.sites, default="")
        raise HiddenRefusal(f"official {username} not found", action=action, site=site, target=f"official:{username}")
    if admin.id == f"user:{account.username}":
        raise InvalidRequest("an admin does not change their own account: ask another admin")
    return account
