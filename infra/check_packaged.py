"""Checks on the packaged SAM template that cfn-lint 1.58 does not make.

`chalice package --stage prod --merge-template infra/template.yaml out` deep-merges infra/template.yaml over what
Chalice emits. cfn-lint validates the shape of the result, not whether the merge did its job: a function still on the
placeholder role of .chalice/config.json, an overlay for a function that was renamed (a resource without a Type), an
SQS event source without partial batch responses, an authorizer caching its answers, officials' tokens that outlive
a disabled account by more than 15 minutes, a function missing a setting chalicelib.config needs, a dead-letter queue
that no alarm watches (infra/queue_alarms.py). This module checks those.

    python -m infra.check_packaged out/sam.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from chalicelib.config import Settings
from infra import gateway_responses, queue_alarms
from infra.template_refs import arn_target

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"  # .chalice/config.json lambda_architecture
CHALICE_DEFAULT_MEMORY = 128
FUNCTION = "AWS::Serverless::Function"
# Settings fields Lambda itself provides (as AWS_REGION), so the template need not.
PROVIDED_BY_LAMBDA = frozenset({"region"})
# A disabled or deleted official is refused within a minute by the authorizer (which caches nothing); a token
# lives at most this long in any case (issue 9: "ID tokens live <= 15 minutes").
MAX_TOKEN_MINUTES = 15
OFFICIAL_AUTHORIZER = "official_auth"
_MINUTES_PER_UNIT = {"seconds": 1 / 60, "minutes": 1, "hours": 60, "days": 24 * 60}

Template = Mapping[str, Any]


def required_env_vars() -> frozenset[str]:
    """The SAFE_* variables chalicelib.config.Settings cannot do without (fields without a default)."""
    return frozenset(
        f"SAFE_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if field.is_required() and name not in PROVIDED_BY_LAMBDA
    )


def problems(template: Template) -> list[str]:
    """Everything wrong with a packaged template that cfn-lint does not catch.

    (Chalice's sam.yaml shares one empty `security` list between routes, which YAML writes as aliases;
    `aws cloudformation package`, the deploy path, writes them out, so they are not checked here.)"""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    found = [
        f"{name}: no Type (an overlay in infra/template.yaml for a resource Chalice did not emit: renamed function?)"
        for name, resource in resources.items()
        if "Type" not in resource
    ]
    global_env = _variables(template.get("Globals", {}).get("Function", {}))
    required = required_env_vars()
    for name, resource in resources.items():
        if resource.get("Type") == FUNCTION:
            found += _function_problems(name, resource.get("Properties") or {}, resources, global_env, required)
    found += _api_problems(resources)
    found += _token_problems(resources)
    found += queue_alarms.problems(resources)
    return found


def _variables(properties: Mapping[str, Any]) -> dict[str, Any]:
    return dict((properties.get("Environment") or {}).get("Variables") or {})


def _function_problems(
    name: str,
    properties: Mapping[str, Any],
    resources: Mapping[str, Any],
    global_env: Mapping[str, Any],
    required: frozenset[str],
) -> list[str]:
    found: list[str] = []
    # A container image (the redaction function) brings its own runtime: its Dockerfile pins the base image.
    if properties.get("PackageType") != "Image" and properties.get("Runtime") != RUNTIME:
        found.append(f"{name}: Runtime {properties.get('Runtime')!r}, not {RUNTIME!r}")
    role = properties.get("Role")
    if _arn_of(role, resources) != "AWS::IAM::Role":
        found.append(f"{name}: Role {role!r} is not a GetAtt of a role in the template (placeholder not overridden?)")
    # Graviton (arm64): every wheel the functions import has an aarch64 build (tests/integration/test_packaging.py).
    if properties.get("Architectures") != [ARCHITECTURE]:
        found.append(f"{name}: Architectures {properties.get('Architectures')!r}, not [{ARCHITECTURE!r}]")
    if properties.get("MemorySize") in (None, CHALICE_DEFAULT_MEMORY):
        found.append(f"{name}: MemorySize {properties.get('MemorySize')!r} is Chalice's default: set it in the overlay")
    environment = {**global_env, **_variables(properties)}
    missing = sorted(var for var in required if environment.get(var) in (None, ""))
    if missing:
        found.append(f"{name}: Environment (with Globals) lacks {', '.join(missing)}")
    for event_name, event in (properties.get("Events") or {}).items():
        if event.get("Type") == "SQS":
            found += _sqs_problems(f"{name}.{event_name}", event.get("Properties") or {}, resources)
    return found


def _sqs_problems(where: str, properties: Mapping[str, Any], resources: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    if properties.get("FunctionResponseTypes") != ["ReportBatchItemFailures"]:
        found.append(
            f"{where}: FunctionResponseTypes {properties.get('FunctionResponseTypes')!r}, "
            "not ['ReportBatchItemFailures'] (failed records would retry the whole batch)"
        )
    queue = properties.get("Queue")
    if _arn_of(queue, resources) != "AWS::SQS::Queue":
        found.append(
            f"{where}: Queue {queue!r} is not the Arn of a queue in the template "
            "(Chalice's placeholder, or an overlay deep-merged into it?)"
        )
    return found


def _arn_of(value: Any, resources: Mapping[str, Any]) -> str | None:
    """The Type of the template resource whose Arn `value` is, if it is exactly one GetAtt/Sub of it."""
    target = arn_target(value)
    resource = resources.get(target) if target else None
    return resource.get("Type") if isinstance(resource, Mapping) else None


def _api_problems(resources: Mapping[str, Any]) -> list[str]:
    api = resources.get("RestAPI")
    if not isinstance(api, Mapping):
        return ["RestAPI: missing"]
    properties = api.get("Properties") or {}
    found: list[str] = []
    if not properties.get("GatewayResponses"):
        found.append("RestAPI: no GatewayResponses (API Gateway's own 401/403/4XX/5XX would not be JSON errors)")
    else:
        found += gateway_responses.problems(properties["GatewayResponses"])
    if not any(_throttles_every_route(setting) for setting in properties.get("MethodSettings") or []):
        found.append("RestAPI: no MethodSettings throttling every route (/* *): the stage takes any request rate")
    if not any(_rate_limits_the_api(resource, resources) for resource in resources.values()):
        found.append("RestAPI: no WAF WebACL with a rate-based rule on its stage (no per-gateway limit)")
    definitions = (properties.get("DefinitionBody") or {}).get("securityDefinitions") or {}
    if OFFICIAL_AUTHORIZER not in definitions:
        found.append(f"RestAPI: no authorizer {OFFICIAL_AUTHORIZER} (officials' tokens would not be checked)")
    for auth_name, definition in definitions.items():
        authorizer = definition.get("x-amazon-apigateway-authorizer")
        if authorizer is not None and authorizer.get("authorizerResultTtlInSeconds") != 0:
            found.append(
                f"authorizer {auth_name}: authorizerResultTtlInSeconds "
                f"{authorizer.get('authorizerResultTtlInSeconds')!r}, not 0 (a revoked token would stay accepted)"
            )
    return found


def _token_problems(resources: Mapping[str, Any]) -> list[str]:
    """Every user pool client's ID and access tokens live at most MAX_TOKEN_MINUTES (Cognito counts in hours
    where TokenValidityUnits says nothing, and gives 60 minutes where the validity is left out)."""
    clients = {
        n: r.get("Properties") or {} for n, r in resources.items() if r.get("Type") == "AWS::Cognito::UserPoolClient"
    }
    if not clients:
        return ["no AWS::Cognito::UserPoolClient: the officials' token lifetimes are not set"]
    found: list[str] = []
    for name, properties in clients.items():
        units = properties.get("TokenValidityUnits") or {}
        for validity, token in (("IdTokenValidity", "IdToken"), ("AccessTokenValidity", "AccessToken")):
            value, unit = properties.get(validity), units.get(token, "hours")
            minutes = value * _MINUTES_PER_UNIT[unit] if isinstance(value, int) and unit in _MINUTES_PER_UNIT else None
            if minutes is None or minutes > MAX_TOKEN_MINUTES:
                found.append(
                    f"{name}: {validity} {value!r} {unit}, not at most {MAX_TOKEN_MINUTES} minutes "
                    "(a disabled official's token would stay valid longer)"
                )
    return found


def _throttles_every_route(setting: Mapping[str, Any]) -> bool:
    every_route = setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*"
    return every_route and "ThrottlingRateLimit" in setting and "ThrottlingBurstLimit" in setting


def _rate_limits_the_api(resource: Mapping[str, Any], resources: Mapping[str, Any]) -> bool:
    """A WebACL association on RestAPI's stage whose WebACL has a rate-based rule."""
    if resource.get("Type") != "AWS::WAFv2::WebACLAssociation":
        return False
    properties = resource.get("Properties") or {}
    stage_arn = properties.get("ResourceArn")
    on_api = isinstance(stage_arn, Mapping) and "${RestAPI}" in str(stage_arn.get("Fn::Sub", ""))
    acl = resources.get(arn_target(properties.get("WebACLArn")) or "")
    if not on_api or not isinstance(acl, Mapping) or acl.get("Type") != "AWS::WAFv2::WebACL":
        return False
    rules = (acl.get("Properties") or {}).get("Rules") or []
    return any("RateBasedStatement" in (rule.get("Statement") or {}) for rule in rules)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.check_packaged", description="Checks on the packaged SAM template that cfn-lint misses."
    )
    parser.add_argument("template", type=Path, help="the sam.yaml `chalice package` wrote")
    args = parser.parse_args(argv)
    found = problems(yaml.safe_load(args.template.read_text(encoding="utf-8")))

    for problem in found:
        print(f"ERROR {problem}")
    print(f"{len(found)} problem(s)" if found else f"{args.template}: OK")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
