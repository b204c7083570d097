"""Deploy infra/template.yaml onto moto server, then apply what moto's CloudFormation skips.

The template stays the one description of the archive's resources: what moto's CloudFormation ignores
(bucket versioning, Object Lock, lifecycle, notifications, policies, the Cognito pool) is read from the
same resource definitions and applied through the service APIs (see ../shared/LOCAL_AWS.md).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from local.aws import AwsEndpoint

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
# IAM roles and log groups matter only to Lambda; locally the functions run as local processes, and the
# access log reaches CountRefusals through local/jobs.py instead of a subscription filter.
# The bucket policy is left out too: moto evaluates it but not as S3 does (it refuses even a PUT that meets
# every condition, and its plain-HTTP endpoint fails aws:SecureTransport), so only real S3 can enforce it.
# The WAF guards API Gateway's stage, which the local API server stands in for.
LOCALLY_UNUSED = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
        "AWS::S3::BucketPolicy",
        "AWS::WAFv2::WebACL",
        "AWS::WAFv2::WebACLAssociation",
        "AWS::Logs::SubscriptionFilter",
        "AWS::Lambda::Permission",
        # Moto's CloudWatch evaluates no metric: the dead-letter queues' alarms matter only on AWS.
        "AWS::CloudWatch::Alarm",
        # The redaction function (a container image): locally local/jobs.py drains its queue into its handler.
        "AWS::Serverless::Function",
    }
)
_SUB = re.compile(r"\$\{([A-Za-z0-9:.]+)\}")


@dataclass
class DeployedStack:
    stack_name: str
    environment: dict[str, str]
    outputs: dict[str, str]
    physical_ids: dict[str, str] = field(default_factory=dict)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = yaml.safe_load(path.read_text())
    return template


def standalone_part(template: dict[str, Any]) -> dict[str, Any]:
    """The resources that exist without Chalice: overlays on its functions and SAM's Globals left out."""
    resources = {
        name: resource
        for name, resource in template["Resources"].items()
        if "Type" in resource and resource["Type"] not in LOCALLY_UNUSED and not _asymmetric_key(resource)
    }
    return {key: value for key, value in template.items() if key != "Globals"} | {"Resources": resources}


def _asymmetric_key(resource: dict[str, Any]) -> bool:
    """moto's CloudFormation makes every KMS key a symmetric one: such keys are made through the KMS API."""
    properties = resource.get("Properties", {})
    return (
        resource.get("Type") == "AWS::KMS::Key"
        and properties.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT"
    )


def _create_asymmetric_keys(resources: dict[str, Any], resolver: Resolver, aws: AwsEndpoint) -> None:
    """Without their key policy: it names roles that exist only on AWS, and moto does not enforce it anyway."""
    for name, resource in resources.items():
        if _asymmetric_key(resource):
            properties = resource["Properties"]
            created = aws.client("kms").create_key(
                KeySpec=properties["KeySpec"], KeyUsage=properties["KeyUsage"], Description=properties["Description"]
            )
            resolver.values[name] = created["KeyMetadata"]["KeyId"]


class Resolver:
    """Evaluates the template's intrinsics (Ref, Fn::GetAtt, Fn::Sub) against what was deployed."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str], aws: AwsEndpoint, account: str) -> None:
        self._resources: dict[str, Any] = template["Resources"]
        self._region = aws.region
        self.values: dict[str, str] = {
            name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()
        } | parameters
        self.values |= {"AWS::Region": aws.region, "AWS::AccountId": account, "AWS::Partition": "aws"}
        self._account = account

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.values[value["Ref"]]
        if set(value) == {"Fn::GetAtt"}:
            name, attribute = value["Fn::GetAtt"]
            return self.attribute(name, attribute)
        if set(value) == {"Fn::Sub"}:
            return _SUB.sub(lambda m: self._sub_name(m.group(1)), value["Fn::Sub"])
        return {key: self.resolve(v) for key, v in value.items()}

    def _sub_name(self, name: str) -> str:
        if "." in name:
            resource, attribute = name.split(".", 1)
            return self.attribute(resource, attribute)
        return self.values[name]

    def attribute(self, name: str, attribute: str) -> str:
        kind = self._resources[name]["Type"]
        physical = self.values[name]
        arns = {
            "AWS::KMS::Key": f"arn:aws:kms:{self._region}:{self._account}:key/{physical}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{self._region}:{self._account}:{physical.rsplit('/', 1)[-1]}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{physical}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{self._region}:{self._account}:table/{physical}",
        }
        if attribute != "Arn" or kind not in arns:
            raise ValueError(f"local deploy cannot resolve {name}.{attribute}")
        return arns[kind]


def deploy(aws: AwsEndpoint, stack_name: str, stage: str, template_path: Path = TEMPLATE) -> DeployedStack:
    template = load_template(template_path)
    cloudformation = aws.client("cloudformation")
    account = aws.client("sts").get_caller_identity()["Account"]
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(standalone_part(template)),
        Parameters=[
            {"ParameterKey": "Stage", "ParameterValue": stage},
            # The function it names is not deployed here (LOCALLY_UNUSED): local/jobs.py runs its handler.
            {"ParameterKey": "RedactionImageUri", "ParameterValue": "local"},
            # Named only by the audit key's policy, which moto does not enforce.
            {"ParameterKey": "DeployRoleArn", "ParameterValue": f"arn:aws:iam::{account}:role/safe-society-deploy"},
        ],
    )
    _wait_for_stack(cloudformation, stack_name)
    resolver = Resolver(template, {"Stage": stage}, aws, account)
    for row in cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]:
        if row.get("LogicalResourceId") and row.get("PhysicalResourceId"):
            resolver.values[row["LogicalResourceId"]] = row["PhysicalResourceId"]
    _create_asymmetric_keys(template["Resources"], resolver, aws)
    _apply_skipped(standalone_part(template)["Resources"], resolver, aws)
    environment = {
        name: str(resolver.resolve(value))
        for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items()
    }
    outputs = {name: str(resolver.resolve(spec["Value"])) for name, spec in template.get("Outputs", {}).items()}
    physical = {name: resolver.values[name] for name in template["Resources"] if name in resolver.values}
    return DeployedStack(stack_name=stack_name, environment=environment, outputs=outputs, physical_ids=physical)


def _wait_for_stack(cloudformation: Any, stack_name: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        if status == "CREATE_COMPLETE":
            return
        if status.endswith("FAILED") or status.startswith("ROLLBACK"):
            raise RuntimeError(f"stack {stack_name} ended {status}")
        time.sleep(0.2)
    raise TimeoutError(f"stack {stack_name} not created within {timeout_s} s")


def _apply_skipped(resources: dict[str, Any], resolver: Resolver, aws: AwsEndpoint) -> None:
    # Order matters: the pool before its client and groups, versioning before Object Lock.
    for kind in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"):
        for name, resource in resources.items():
            if resource.get("Type") == kind:
                resolver.values[name] = _COGNITO[kind](
                    aws.client("cognito-idp"), resolver.resolve(resource["Properties"])
                )
    for name, resource in resources.items():
        properties = resolver.resolve(resource.get("Properties", {}))
        if resource.get("Type") == "AWS::SecretsManager::Secret":
            created = aws.client("secretsmanager").create_secret(
                Name=properties["Name"], SecretString=properties.get("SecretString", "{}")
            )
            resolver.values[name] = created["ARN"]
        if resource.get("Type") == "AWS::S3::Bucket":
            _configure_bucket(aws.client("s3"), resolver.values[name], properties)
        elif resource.get("Type") == "AWS::SQS::QueuePolicy":
            for queue_url in properties["Queues"]:
                aws.client("sqs").set_queue_attributes(
                    QueueUrl=queue_url, Attributes={"Policy": json.dumps(properties["PolicyDocument"])}
                )


def _configure_bucket(s3: Any, bucket: str, properties: dict[str, Any]) -> None:
    if "VersioningConfiguration" in properties:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=properties["VersioningConfiguration"])
    if properties.get("ObjectLockEnabled"):
        configuration = properties.get("ObjectLockConfiguration", {"ObjectLockEnabled": "Enabled"})
        if "Rule" in configuration:
            retention = configuration["Rule"]["DefaultRetention"]
            configuration = configuration | {"Rule": {"DefaultRetention": retention | {"Days": int(retention["Days"])}}}
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=configuration)
    if "LifecycleConfiguration" in properties:
        rules = [_lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    queues = properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if queues:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={"QueueConfigurations": [_queue_notification(q) for q in queues]},
        )


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape → the S3 API's."""
    api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    for key in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if key in rule:
            api[key] = {name: int(value) for name, value in rule[key].items()}
    return api


def _queue_notification(queue: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's QueueConfiguration shape → the S3 API's."""
    api: dict[str, Any] = {"QueueArn": queue["Queue"], "Events": [queue["Event"]]}
    rules = queue.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    if rules:
        api["Filter"] = {"Key": {"FilterRules": rules}}
    return api


def _create_pool(cognito: Any, properties: dict[str, Any]) -> str:
    arguments = {key: value for key, value in properties.items() if key not in {"UserPoolName", "EnabledMfas"}}
    arguments["PoolName"] = properties["UserPoolName"]
    arguments["Schema"] = [_schema_attribute(attribute) for attribute in properties.get("Schema", [])]
    pool_id = str(cognito.create_user_pool(**arguments)["UserPool"]["Id"])
    if "SOFTWARE_TOKEN_MFA" in properties.get("EnabledMfas", []):
        # CloudFormation's EnabledMfas is the API's separate MFA configuration call.
        cognito.set_user_pool_mfa_config(
            UserPoolId=pool_id,
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=properties.get("MfaConfiguration", "OFF"),
        )
    return pool_id


def _schema_attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    converted = dict(attribute)
    if "StringAttributeConstraints" in converted:
        converted["StringAttributeConstraints"] = {
            k: str(v) for k, v in converted["StringAttributeConstraints"].items()
        }
    return converted


def _create_client(cognito: Any, properties: dict[str, Any]) -> str:
    return str(cognito.create_user_pool_client(**properties)["UserPoolClient"]["ClientId"])


def _create_group(cognito: Any, properties: dict[str, Any]) -> str:
    cognito.create_group(**properties)
    return str(properties["GroupName"])


_COGNITO = {
    "AWS::Cognito::UserPool": _create_pool,
    "AWS::Cognito::UserPoolClient": _create_client,
    "AWS::Cognito::UserPoolGroup": _create_group,
}
