"""Only the digest function may sign with the audit key: read from the template itself (moto enforces no
key policy, so no local test can show it by being refused)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from local.deploy import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def allows_sign(statement: dict[str, Any]) -> bool:
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    return statement.get("Effect") == "Allow" and any(fnmatchcase("kms:Sign", pattern) for pattern in actions)


def test_the_audit_key_is_an_asymmetric_signing_key():
    properties = RESOURCES["AuditSigningKey"]["Properties"]
    assert (properties["KeySpec"], properties["KeyUsage"]) == ("ECC_NIST_P256", "SIGN_VERIFY")


def test_the_key_policy_lets_only_the_digest_functions_role_sign():
    statements = RESOURCES["AuditSigningKey"]["Properties"]["KeyPolicy"]["Statement"]

    signers = [statement["Principal"] for statement in statements if allows_sign(statement)]

    assert signers == [{"AWS": {"Fn::GetAtt": ["WriteAuditDigestsRole", "Arn"]}}]


def test_no_role_policy_grants_kms_sign():
    granting = [
        name
        for name, resource in RESOURCES.items()
        if resource.get("Type") == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if allows_sign(statement)
    ]
    assert granting == []
