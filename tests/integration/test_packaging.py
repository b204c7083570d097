"""What `chalice package --stage prod --merge-template infra/template.yaml` produces, and the checker that judges it.

The packaging tests (marked `packaging`) run chalice once per module. It downloads Lambda's wheels from PyPI
(about 15 s) unless .chalice/deployments already caches the dependency zip for these requirements (about 1 s).
The tests of `problems()` on hand-made templates are fast and need neither chalice nor PyPI.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.check_packaged import problems, required_env_vars
from local.deploy import load_template
from tests.lambda_wheels import foreign_wheels, wheel_tags

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REGION = "eu-north-1"
# Lambda's limit on a function's code, unzipped, layers included (none here): 250 MB.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
PACKAGES = ("av", "PIL", "jwt", "pydantic_core", "aws_lambda_powertools", "chalicelib")
REDACTION_ONLY = ("numpy", "cv2", "onnx", "onnxruntime", "redaction")
GATEWAY_RESPONSES = load_template()["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


@dataclass(frozen=True)
class Packaged:
    out: Path
    template: dict[str, Any]
    seconds: float

    @property
    def zip_path(self) -> Path:
        return self.out / "deployment.zip"


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    out = tmp_path_factory.mktemp("package") / "out"
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "chalice"), "package", "--stage", "prod", "--merge-template", "infra/template.yaml", str(out)],
        cwd=ROOT,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"chalice package failed:\n{result.stdout}\n{result.stderr}"
    return Packaged(out, yaml.safe_load((out / "sam.yaml").read_text(encoding="utf-8")), seconds)


@pytest.mark.packaging
def test_cfn_lint_passes(packaged: Packaged, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "cfn-lint"), str(packaged.out / "sam.yaml")], capture_output=True, text=True, check=False
    )
    lint_seconds = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[packaging] chalice package: {packaged.seconds:.1f} s, cfn-lint: {lint_seconds:.1f} s")
    assert result.returncode == 0, f"cfn-lint:\n{result.stdout}{result.stderr}"


@pytest.mark.packaging
def test_packaged_template_passes_the_checks(packaged: Packaged) -> None:
    assert problems(packaged.template) == []


@pytest.mark.packaging
def test_deployment_zip_fits_lambda_and_holds_the_app(packaged: Packaged, capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(packaged.zip_path) as archive:
        entries = archive.infolist()
        wheels = {
            entry.filename.split("/", 1)[0]: wheel_tags(archive.read(entry).decode())
            for entry in entries
            if entry.filename.endswith(".dist-info/WHEEL")
        }
    unzipped = sum(entry.file_size for entry in entries)
    names = {entry.filename for entry in entries}
    top_level = {name.split("/", 1)[0] for name in names}
    with capsys.disabled():
        print(
            f"\n[packaging] deployment.zip: {packaged.zip_path.stat().st_size / 1e6:.1f} MB zipped, "
            f"{unzipped / 1e6:.1f} MB unzipped in {len(entries)} files"
        )
    assert unzipped < UNZIPPED_LIMIT_BYTES
    assert {"app.py", "chalicelib/__init__.py", "chalicelib/config.py"} <= names
    assert set(PACKAGES) <= top_level, f"missing: {sorted(set(PACKAGES) - top_level)}"
    assert top_level.isdisjoint(REDACTION_ONLY), "the redaction function's own packages belong in its image"
    # The functions run on arm64 Amazon Linux 2023 (glibc 2.34): a wheel built for another platform, Python or
    # a newer glibc would fail to import there.
    assert foreign_wheels(wheels) == {}


# ---- problems() on hand-made templates: each breaks one rule --------------------------------------------------------


def _template() -> dict[str, Any]:
    """A small template shaped like the packaged one that breaks no rule."""
    environment = {var: {"Ref": "Somewhere"} for var in sorted(required_env_vars())}
    return {
        "Globals": {"Function": {"Environment": {"Variables": environment}}},
        "Resources": {
            "IngestQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}}
                },
            },
            "IngestDeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "AdminsAlarms": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Ref": "AlarmsKey"}}},
            "IngestGaveUpAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [
                        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["IngestDeadLetterQueue", "QueueName"]}}
                    ],
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "AlarmActions": [{"Ref": "AdminsAlarms"}],
                },
            },
            "IngestClipsRole": {"Type": "AWS::IAM::Role", "Properties": {}},
            "IngestClips": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Architectures": ["arm64"],
                    "MemorySize": 2048,
                    "Handler": "app.ingest_clips",
                    "Role": {"Fn::GetAtt": ["IngestClipsRole", "Arn"]},
                    "Events": {
                        "IngestClipsSqsEventSource": {
                            "Type": "SQS",
                            "Properties": {
                                "Queue": {"Fn::GetAtt": ["IngestQueue", "Arn"]},
                                "BatchSize": 10,
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            },
                        }
                    },
                },
            },
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "GatewayResponses": copy.deepcopy(GATEWAY_RESPONSES),
                    "MethodSettings": [
                        {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 9}
                    ],
                    "DefinitionBody": {
                        "securityDefinitions": {
                            "official_auth": {
                                "type": "apiKey",
                                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerResultTtlInSeconds": 0},
                            }
                        }
                    },
                },
            },
            "OfficialsClient": {
                "Type": "AWS::Cognito::UserPoolClient",
                "Properties": {
                    "IdTokenValidity": 15,
                    "AccessTokenValidity": 15,
                    "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes"},
                },
            },
            "Firewall": {
                "Type": "AWS::WAFv2::WebACL",
                "Properties": {"Rules": [{"Name": "per-gateway", "Statement": {"RateBasedStatement": {"Limit": 10}}}]},
            },
            "FirewallOnApi": {
                "Type": "AWS::WAFv2::WebACLAssociation",
                "Properties": {
                    "ResourceArn": {"Fn::Sub": "arn:aws:apigateway:eu-north-1::/restapis/${RestAPI}/stages/api"},
                    "WebACLArn": {"Fn::GetAtt": ["Firewall", "Arn"]},
                },
            },
        },
    }


def _function(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["IngestClips"]["Properties"]
    return properties


def _sqs_event(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = _function(template)["Events"]["IngestClipsSqsEventSource"]["Properties"]
    return properties


def _authorizer(template: dict[str, Any]) -> dict[str, Any]:
    definitions = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]
    authorizer: dict[str, Any] = definitions["official_auth"]["x-amazon-apigateway-authorizer"]
    return authorizer


def _placeholder_role(template: dict[str, Any]) -> None:
    _function(template)["Role"] = "arn:aws:iam::123456789012:role/replaced-by-infra-template-overlay"


def _old_runtime(template: dict[str, Any]) -> None:
    _function(template)["Runtime"] = "python3.12"


def _x86_64(template: dict[str, Any]) -> None:
    _function(template)["Architectures"] = ["x86_64"]


def _default_memory(template: dict[str, Any]) -> None:
    _function(template)["MemorySize"] = 128


def _no_partial_batch_responses(template: dict[str, Any]) -> None:
    del _sqs_event(template)["FunctionResponseTypes"]


def _cached_authorizer(template: dict[str, Any]) -> None:
    _authorizer(template)["authorizerResultTtlInSeconds"] = 300


def _no_official_authorizer(template: dict[str, Any]) -> None:
    definitions = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["securityDefinitions"]
    definitions["gateway_auth"] = definitions.pop("official_auth")


def _client(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["OfficialsClient"]["Properties"]
    return properties


def _id_token_of_an_hour(template: dict[str, Any]) -> None:
    _client(template)["IdTokenValidity"] = 60


def _access_token_in_cognitos_default_unit(template: dict[str, Any]) -> None:
    del _client(template)["TokenValidityUnits"]["AccessToken"]  # 15 hours


def _id_token_of_cognitos_default_lifetime(template: dict[str, Any]) -> None:
    del _client(template)["IdTokenValidity"]


def _no_clips_table(template: dict[str, Any]) -> None:
    del template["Globals"]["Function"]["Environment"]["Variables"]["SAFE_CLIPS_TABLE"]


def _empty_clips_table_in_function(template: dict[str, Any]) -> None:
    _function(template)["Environment"] = {"Variables": {"SAFE_CLIPS_TABLE": ""}}


def _placeholder_queue(template: dict[str, Any]) -> None:
    _sqs_event(template)["Queue"] = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:ingest"}


def _queue_deep_merged_into_placeholder(template: dict[str, Any]) -> None:
    _placeholder_queue(template)
    _sqs_event(template)["Queue"]["Fn::GetAtt"] = ["IngestQueue", "Arn"]


def _role_of_a_queue(template: dict[str, Any]) -> None:
    _function(template)["Role"] = {"Fn::GetAtt": ["IngestQueue", "Arn"]}


def _overlay_for_a_renamed_function(template: dict[str, Any]) -> None:
    template["Resources"]["IngestClip"] = {"Properties": {"MemorySize": 2048}}


def _no_gateway_responses(template: dict[str, Any]) -> None:
    del template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


def _api_gateway_s_own_answer_for_no_route(template: dict[str, Any]) -> None:
    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    responses["MISSING_AUTHENTICATION_TOKEN"] = {
        "StatusCode": 403,
        "ResponseTemplates": {"application/json": '{"message": $context.error.messageString}'},
    }


def _default_5xx_not_json(template: dict[str, Any]) -> None:
    responses = template["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    responses["DEFAULT_5XX"]["ResponseTemplates"]["application/json"] = '{"message": $context.error.messageString}'


def _unthrottled_stage(template: dict[str, Any]) -> None:
    del template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]


def _throttling_one_route_only(template: dict[str, Any]) -> None:
    template["Resources"]["RestAPI"]["Properties"]["MethodSettings"][0]["ResourcePath"] = "/~1health"


def _firewall_without_rate_rule(template: dict[str, Any]) -> None:
    template["Resources"]["Firewall"]["Properties"]["Rules"][0]["Statement"] = {"ByteMatchStatement": {}}


def _firewall_on_nothing(template: dict[str, Any]) -> None:
    del template["Resources"]["FirewallOnApi"]


def _alarm(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["IngestGaveUpAlarm"]["Properties"]
    return properties


def _dead_letter_queue_unwatched(template: dict[str, Any]) -> None:
    del template["Resources"]["IngestGaveUpAlarm"]


def _alarm_at_ten_messages(template: dict[str, Any]) -> None:
    _alarm(template)["Threshold"] = 10


def _alarm_on_another_queue(template: dict[str, Any]) -> None:
    _alarm(template)["Dimensions"][0]["Value"] = {"Fn::GetAtt": ["IngestQueue", "QueueName"]}


def _alarm_telling_nobody(template: dict[str, Any]) -> None:
    _alarm(template)["AlarmActions"] = []


def _alarm_topic_of_the_managed_key(template: dict[str, Any]) -> None:
    template["Resources"]["AdminsAlarms"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"


BREAKAGES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "placeholder role": (_placeholder_role, "IngestClips: Role"),
    "role of something else": (_role_of_a_queue, "IngestClips: Role"),
    "python3.12 runtime": (_old_runtime, "Runtime 'python3.12'"),
    "x86_64": (_x86_64, "Architectures ['x86_64']"),
    "Chalice's default memory": (_default_memory, "MemorySize 128"),
    "no ReportBatchItemFailures": (_no_partial_batch_responses, "FunctionResponseTypes"),
    "authorizer ttl 300": (_cached_authorizer, "authorizerResultTtlInSeconds 300"),
    "no official authorizer": (_no_official_authorizer, "no authorizer official_auth"),
    "ID token of 60 minutes": (_id_token_of_an_hour, "IdTokenValidity 60 minutes"),
    "access token of 15 hours": (_access_token_in_cognitos_default_unit, "AccessTokenValidity 15 hours"),
    "ID token of Cognito's default": (_id_token_of_cognitos_default_lifetime, "IdTokenValidity None"),
    "missing SAFE_CLIPS_TABLE": (_no_clips_table, "lacks SAFE_CLIPS_TABLE"),
    "function blanks SAFE_CLIPS_TABLE": (_empty_clips_table_in_function, "lacks SAFE_CLIPS_TABLE"),
    "placeholder queue": (_placeholder_queue, "Queue"),
    "queue overlay merged into placeholder": (_queue_deep_merged_into_placeholder, "Queue"),
    "overlay without Type": (_overlay_for_a_renamed_function, "IngestClip: no Type"),
    "no GatewayResponses": (_no_gateway_responses, "GatewayResponses"),
    "no route answered by API Gateway's default": (_api_gateway_s_own_answer_for_no_route, "MISSING_AUTHENTICATION"),
    "5XX without an error code": (_default_5xx_not_json, "DEFAULT_5XX answers"),
    "no stage throttling": (_unthrottled_stage, "MethodSettings"),
    "one route throttled": (_throttling_one_route_only, "MethodSettings"),
    "firewall without a rate rule": (_firewall_without_rate_rule, "rate-based rule"),
    "firewall not on the API": (_firewall_on_nothing, "rate-based rule"),
    "dead-letter queue without an alarm": (_dead_letter_queue_unwatched, "IngestDeadLetterQueue: no AWS::CloudWatch"),
    "alarm at ten messages": (_alarm_at_ten_messages, "IngestDeadLetterQueue: no AWS::CloudWatch"),
    "alarm on the source queue": (_alarm_on_another_queue, "IngestDeadLetterQueue: no AWS::CloudWatch"),
    "alarm telling nobody": (_alarm_telling_nobody, "IngestGaveUpAlarm: AlarmActions"),
    "alarm topic CloudWatch cannot use": (_alarm_topic_of_the_managed_key, "encrypted with alias/aws/sns"),
}


def test_a_sound_template_has_no_problems() -> None:
    assert problems(_template()) == []


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_each_broken_rule_is_one_problem(breakage: str) -> None:
    template = _template()
    breaks, expected = BREAKAGES[breakage]
    breaks(template)
    found = problems(template)
    assert len(found) == 1, found
    assert expected in found[0]


def test_queue_may_be_a_sub_of_the_queue_arn() -> None:
    """`Fn::Sub: ${IngestQueue.Arn}` is what an overlay can merge over Chalice's `Fn::Sub` placeholder."""
    template = _template()
    _sqs_event(template)["Queue"] = {"Fn::Sub": "${IngestQueue.Arn}"}
    assert problems(template) == []


def test_required_env_vars_follow_settings() -> None:
    required = required_env_vars()
    assert {"SAFE_CLIPS_TABLE", "SAFE_CLIPS_BUCKET", "SAFE_USER_POOL_ID"} <= required
    assert "SAFE_REGION" not in required  # Lambda provides AWS_REGION
    assert "SAFE_JWKS_URL" not in required  # has a default
