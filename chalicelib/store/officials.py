"""Officials' accounts in the Cognito user pool: role = the one group, sites = `custom:sites`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.officials import Official, OfficialAccount, parse_sites
from chalicelib.domain.principal import OFFICIAL_ROLES, Role
from chalicelib.errors import Conflict, InvalidRequest, NotFound

SITES_ATTRIBUTE = "custom:sites"


def _attributes(user: dict[str, Any]) -> dict[str, str]:
    listed = user.get("Attributes") or user.get("UserAttributes") or []
    return {attribute["Name"]: attribute["Value"] for attribute in listed}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class OfficialDirectory:
    """Every Cognito call about officials' accounts."""

    def __init__(self, cognito: Any, pool_id: str) -> None:
        self._cognito = cognito
        self._pool = pool_id

    def officials(self) -> Iterator[OfficialAccount]:
        roles = {name: role for role in sorted(OFFICIAL_ROLES) for name in self._members(role)}
        for page in self._cognito.get_paginator("list_users").paginate(UserPoolId=self._pool):
            for user in page["Users"]:
                yield self._account(user, roles.get(user["Username"]))

    def get(self, username: str) -> OfficialAccount | None:
        try:
            user = self._cognito.admin_get_user(UserPoolId=self._pool, Username=username)
        except self._cognito.exceptions.UserNotFoundException:
            return None
        return self._account(user, self._role_of(username))

    def create(self, official: Official, temporary_password: str) -> OfficialAccount:
        attributes = [{"Name": SITES_ATTRIBUTE, "Value": ",".join(sorted(official.sites))}]
        if official.email:
            attributes += [{"Name": "email", "Value": official.email}, {"Name": "email_verified", "Value": "true"}]
        try:
            self._cognito.admin_create_user(
                UserPoolId=self._pool,
                Username=official.username,
                UserAttributes=attributes,
                TemporaryPassword=temporary_password,
                MessageAction="SUPPRESS",  # the admin hands the first password over, once
            )
        except self._cognito.exceptions.UsernameExistsException as exc:
            raise Conflict(f"official {official.username} already exists") from exc
        except self._cognito.exceptions.InvalidParameterException as exc:
            raise InvalidRequest(f"Cognito refused the account: {exc.response['Error']['Message']}") from exc
        self._cognito.admin_add_user_to_group(
            UserPoolId=self._pool, Username=official.username, GroupName=official.role
        )
        created = self.get(official.username)
        if created is None:
            raise NotFound(f"official {official.username} was deleted while being created")
        return created

    def change(self, username: str, role: Role, sites: frozenset[str]) -> None:
        self._cognito.admin_update_user_attributes(
            UserPoolId=self._pool,
            Username=username,
            UserAttributes=[{"Name": SITES_ATTRIBUTE, "Value": ",".join(sorted(sites))}],
        )
        for group in self._groups(username):
            if group != role:
                self._cognito.admin_remove_user_from_group(UserPoolId=self._pool, Username=username, GroupName=group)
        self._add_to_group(username, role)
        self._sign_out(username)

    def _add_to_group(self, username: str, role: Role) -> None:
        self._cognito.admin_add_user_to_group(UserPoolId=self._pool, Username=username, GroupName=role.value)

    def set_enabled(self, username: str, enabled: bool) -> None:
        if enabled:
            self._cognito.admin_enable_user(UserPoolId=self._pool, Username=username)
        else:
            self._cognito.admin_disable_user(UserPoolId=self._pool, Username=username)
            self._sign_out(username)

    def set_temporary_password(self, username: str, password: str) -> None:
        self._cognito.admin_set_user_password(
            UserPoolId=self._pool, Username=username, Password=password, Permanent=False
        )
        self._sign_out(username)

    def _sign_out(self, username: str) -> None:
        """Refresh tokens die at once; ID tokens already issued are refused by the authorizer's check."""
        try:
            self._cognito.admin_user_global_sign_out(UserPoolId=self._pool, Username=username)
        except ClientError as error:
            if _error_code(error) != "NotAuthorizedException":  # a user who never logged in
                raise

    def _members(self, role: Role) -> Iterator[str]:
        paginator = self._cognito.get_paginator("list_users_in_group")
        for page in paginator.paginate(UserPoolId=self._pool, GroupName=role.value):
            for user in page["Users"]:
                yield str(user["Username"])

    def _groups(self, username: str) -> list[str]:
        answer = self._cognito.admin_list_groups_for_user(UserPoolId=self._pool, Username=username)
        return [str(group["GroupName"]) for group in answer["Groups"]]

    def _role_of(self, username: str) -> Role | None:
        roles = [Role(group) for group in self._groups(username) if group in OFFICIAL_ROLES]
        return roles[0] if len(roles) == 1 else None

    @staticmethod
    def _account(user: dict[str, Any], role: Role | None) -> OfficialAccount:
        attributes = _attributes(user)
        created: datetime = user["UserCreateDate"]
        return OfficialAccount(
            username=str(user["Username"]),
            email=attributes.get("email"),
            role=role,
            sites=parse_sites(attributes.get(SITES_ATTRIBUTE, "")),
            enabled=bool(user.get("Enabled", True)),
            status=str(user.get("UserStatus", "")),
            created_at=created,
        )


@dataclass(frozen=True)
class _Seen:
    at: float
    account: OfficialAccount | None


class AccountStates:
    """What the pool says of an account now, remembered for at most `max_age_s` per user (the authorizer asks
    on every request; Cognito's own rate limits and latency say not to ask it every time)."""

    def __init__(
        self, directory: OfficialDirectory, max_age_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._directory = directory
        self._max_age_s = max_age_s
        self._clock = clock
        self._seen: dict[str, _Seen] = {}

    def current(self, username: str) -> OfficialAccount | None:
        now = self._clock()
        seen = self._seen.get(username)
        if seen is None or now - seen.at >= self._max_age_s:
            seen = _Seen(now, self._directory.get(username))
            self._seen[username] = seen
        return seen.account
