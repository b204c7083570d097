"""Demo data: both sites, their cameras and gateways, and one official per role per site.

Sites are configuration and are loaded into the table directly; cameras and gateways are created the way
an admin creates them, through the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain.principal import OFFICIAL_ROLES
from chalicelib.store.catalog import Catalog
from chalicelib.store.sealing_keys import SealingKeys
from infra.load_sites import load_sites
from infra.site_keys import give_site_keys
from local.api_client import ApiClient
from local.aws import AwsEndpoint

DEMO_SITES = Path(__file__).resolve().parent / "demo_sites.json"
DEMO_PASSWORD = "Demo-Password-2026"


@dataclass(frozen=True)
class Official:
    username: str
    role: str
    sites: tuple[str, ...]
    password: str = DEMO_PASSWORD


def demo_plan() -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(DEMO_SITES.read_text())
    return plan


def catalog_of(aws: AwsEndpoint, environment: dict[str, str]) -> Catalog:
    dynamodb = aws.resource("dynamodb")
    return Catalog(
        dynamodb.Table(environment["SAFE_SITES_TABLE"]),
        dynamodb.Table(environment["SAFE_CAMERAS_TABLE"]),
        dynamodb.Table(environment["SAFE_GATEWAYS_TABLE"]),
    )


def create_official(aws: AwsEndpoint, pool_id: str, official: Official) -> None:
    cognito = aws.client("cognito-idp")
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=official.username,
        UserAttributes=[{"Name": "custom:sites", "Value": ",".join(official.sites)}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=official.username, Password=official.password, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=official.username, GroupName=official.role)


def demo_officials(site_ids: list[str]) -> list[Official]:
    return [
        Official(username=f"{role}-{site}", role=str(role), sites=(site,))
        for site in site_ids
        for role in sorted(OFFICIAL_ROLES)
    ]


def seed(aws: AwsEndpoint, environment: dict[str, str], api: ApiClient) -> dict[str, Any]:
    """Load the demo; returns the officials' logins and each site's gateway token."""
    plan = demo_plan()
    site_ids = [site["site_id"] for site in plan["sites"]]
    catalog = catalog_of(aws, environment)
    load_sites(catalog, plan["sites"])
    keys = SealingKeys(aws.client("secretsmanager"), environment["SAFE_SEALING_KEYS_SECRET"])
    for site_id in site_ids:
        give_site_keys(catalog, keys, site_id)
    officials = demo_officials(site_ids)
    for official in officials:
        create_official(aws, environment["SAFE_USER_POOL_ID"], official)
    gateways = {}
    for site in site_ids:
        admin = api.login(f"admin-{site}", DEMO_PASSWORD)
        for camera in plan["cameras"][site]:
            admin.post(f"/sites/{site}/cameras", camera).expect(201)
        camera_ids = [camera["camera_id"] for camera in plan["cameras"][site]]
        created = admin.post("/gateways", {"site_id": site, "name": f"{site} gateway", "camera_ids": camera_ids})
        gateways[site] = created.expect(201)
    return {
        "officials": [
            {"username": o.username, "password": o.password, "role": o.role, "sites": list(o.sites)} for o in officials
        ],
        "gateways": gateways,
    }
