"""Only the digest function may sign with the audit key, and nobody may hand signing on (a grant, a new key
policy): read from the template itself (moto enforces no key policy, so no local test can show it by being
refused)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from local.deploy import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
DIGEST_ROLE = {"AWS": {"Fn::GetAtt": ["WriteAuditDigestsRole", "Arn"]}}
DEPLOY_ROLE = {"AWS": {"Ref": "DeployRoleArn"}}
ACCOUNT = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
# What each action lets its holder do to the key's signers: the one principal allowed it.
INTENDED = {"kms:Sign": DIGEST_ROLE, "kms:PutKeyPolicy": DEPLOY_ROLE, "kms:CreateGrant": None}


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def allows(statement: dict[str, Any], action: str) -> bool:
    """Whether an Allow statement covers `action` (its Action patterns, or everything its NotAction leaves)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return not any(fnmatchcase(action, pattern) for pattern in _listed(statement["NotAction"]))
    return any(fnmatchcase(action, pattern) for pattern in _listed(statement.get("Action")))


def denies_everyone(statement: dict[str, Any], action: str) -> bool:
    every = statement.get("Principal") in ("*", {"AWS": "*"})
    covered = any(fnmatchcase(action, pattern) for pattern in _listed(statement.get("Action")))
    return statement.get("Effect") == "Deny" and every and covered and not statement.get("Condition")


def signing_problems(statements: list[dict[str, Any]]) -> list[str]:
    """Each statement that lets someone other than its intended principal sign, grant or replace the policy."""
    found = [
        f"{statement.get('Sid')} allows {action} to {statement.get('Principal')}"
        for statement in statements
        for action, intended in INTENDED.items()
        if allows(statement, action) and statement.get("Principal") != intended
    ]
    if not any(denies_everyone(statement, "kms:CreateGrant") for statement in statements):
        found.append("no statement denies kms:CreateGrant to everyone")
    return found


def key_policy() -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = RESOURCES["AuditSigningKey"]["Properties"]["KeyPolicy"]["Statement"]
    return statements


def test_the_audit_key_is_an_asymmetric_signing_key():
    properties = RESOURCES["AuditSigningKey"]["Properties"]
    assert (properties["KeySpec"], properties["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")


def test_the_key_policy_lets_only_the_digest_functions_role_sign_and_only_the_deploy_role_change_it():
    assert signing_problems(key_policy()) == []
    assert [s["Principal"] for s in key_policy() if allows(s, "kms:Sign")] == [DIGEST_ROLE]
    assert [s["Principal"] for s in key_policy() if allows(s, "kms:PutKeyPolicy")] == [DEPLOY_ROLE]


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Action": ["kms:Create*"]}, "allows kms:CreateGrant"),
        ({"Action": "kms:CreateGrant"}, "allows kms:CreateGrant"),
        ({"Action": ["kms:Put*"]}, "allows kms:PutKeyPolicy"),
        ({"Action": "kms:*"}, "allows kms:Sign"),
        ({"NotAction": ["kms:Sign"]}, "allows kms:PutKeyPolicy"),
        ({"Action": "kms:Sign"}, "allows kms:Sign"),
    ],
)
def test_a_statement_handing_signing_to_the_account_is_caught(statement, problem):
    """What the account's administrator statement held before: kms:Create* and kms:Put* hand Sign on."""
    widened = [*key_policy(), {"Sid": "Widened", "Effect": "Allow", "Principal": ACCOUNT, "Resource": "*"} | statement]

    assert [found for found in signing_problems(widened) if problem in found] == [f"Widened {problem} to {ACCOUNT}"]


def test_the_policy_change_kept_by_anyone_but_the_deploy_role_is_caught():
    someone = {"AWS": "arn:aws:iam::123456789012:role/operator"}
    changed = [s | {"Principal": someone} if allows(s, "kms:PutKeyPolicy") else s for s in key_policy()]

    assert signing_problems(changed) == [f"OnlyTheDeployRoleChangesThisPolicy allows kms:PutKeyPolicy to {someone}"]


def test_without_the_explicit_deny_grants_are_caught():
    without = [s for s in key_policy() if s.get("Effect") != "Deny"]

    assert signing_problems(without) == ["no statement denies kms:CreateGrant to everyone"]


def test_no_role_policy_grants_kms_sign():
    granting = [
        name
        for name, resource in RESOURCES.items()
        if resource.get("Type") == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if allows(statement, "kms:Sign")
    ]
    assert granting == []
