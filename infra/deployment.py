"""A deployed stack as the operator tools see it: its resources' physical ids, and the catalog in it."""

from __future__ import annotations

import boto3

from chalicelib.store.catalog import Catalog


def physical_ids(stack: str) -> dict[str, str]:
    rows = boto3.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    # moto lists the resources its CloudFormation skips as blank rows; AWS lists none such.
    return {row["LogicalResourceId"]: row["PhysicalResourceId"] for row in rows if row.get("PhysicalResourceId")}


def stack_catalog(physical: dict[str, str]) -> Catalog:
    dynamodb = boto3.resource("dynamodb")
    return Catalog(
        dynamodb.Table(physical["SitesTable"]),
        dynamodb.Table(physical["CamerasTable"]),
        dynamodb.Table(physical["GatewaysTable"]),
    )
