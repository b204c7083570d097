"""Demo data: both sites, their cameras and gateways, and one official per role per site.

The officials are made in the pool directly (as the first admin of a deployment is); everything else is made
the way a site's admin makes it, through the API: the sites from local/demo_sites.yaml (the file format of
`safe-society-admin sites apply`), their sealing keys, cameras and gateways.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chalicelib.domain.catalog import Site, SiteConfiguration
from chalicelib.domain.principal import OFFICIAL_ROLES
from chalicelib.domain.sites import configured_site
from chalicelib.store.catalog import Catalog
from local.api_client import ApiClient
from local.aws import AwsEndpoint

DEMO_SITES = Path(__file__).resolve().parent / "demo_sites.yaml"
DEMO_PASSWORD = "Demo-Password-2026"
# The simulator uploads often enough that every camera is heard within this, well inside the 10 minutes after
# which the wall calls a camera silent.
EVERY_CAMERA_HEARD_WITHIN_S = 240.0


@dataclass(frozen=True)
class Official:
    username: str
    role: str
    sites: tuple[str, ...]
    password: str = DEMO_PASSWORD


def demo_plan() -> dict[str, Any]:
    plan: dict[str, Any] = yaml.safe_load(DEMO_SITES.read_text(encoding="utf-8"))
    return plan


def demo_sites() -> dict[str, Site]:
    """The demo's site records as the API makes them of its configuration (for tests that need them)."""
    return {
        site_id: configured_site(None, site_id, SiteConfiguration.model_validate(config))
        for site_id, config in demo_plan()["sites"].items()
    }


def demo_cameras(plan: dict[str, Any], counts: Mapping[str, int]) -> dict[str, list[dict[str, str]]]:
    """Each site's cameras: the demo's named ones, then numbered ones up to the count asked for (Aizkraukle
    reports 90), so the console can be tried at a real site's size."""
    unknown = sorted(set(counts) - set(plan["sites"]))
    if unknown:
        raise ValueError(f"no demo site {', '.join(unknown)} (the demo's sites: {', '.join(plan['sites'])})")
    cameras = {}
    for site, named in plan["cameras"].items():
        numbered = [
            {"camera_id": f"{site}-camera-{n:03d}", "name": f"Camera {n}", "location": "Demo camera"}
            for n in range(len(named) + 1, counts.get(site, 0) + 1)
        ]
        cameras[site] = [*named, *numbered]
    return cameras


def simulator_interval(camera_count: int, preferred_s: float) -> float:
    """Seconds between the simulator's uploads: its preferred pace, faster when there are so many cameras that
    one of them would otherwise look silent between its clips."""
    return min(preferred_s, EVERY_CAMERA_HEARD_WITHIN_S / max(camera_count, 1))


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


def seed(
    aws: AwsEndpoint, environment: dict[str, str], api: ApiClient, camera_counts: Mapping[str, int]
) -> dict[str, Any]:
    """Load the demo; returns the officials' logins and each site's gateway token."""
    plan = demo_plan()
    cameras = demo_cameras(plan, camera_counts)
    site_ids = list(plan["sites"])
    officials = demo_officials(site_ids)
    for official in officials:
        create_official(aws, environment["SAFE_USER_POOL_ID"], official)
    gateways = {}
    for site in site_ids:
        admin = api.login(f"admin-{site}", DEMO_PASSWORD)
        admin.request("PUT", f"/sites/{site}/configuration", plan["sites"][site]).expect(200)
        admin.post(f"/sites/{site}/sealing-keys", {}).expect(201)
        for camera in cameras[site]:
            admin.post(f"/sites/{site}/cameras", camera).expect(201)
        camera_ids = [camera["camera_id"] for camera in cameras[site]]
        created = admin.post("/gateways", {"site_id": site, "name": f"{site} gateway", "camera_ids": camera_ids})
        gateways[site] = created.expect(201)
    return {
        "officials": [
            {"username": o.username, "password": o.password, "role": o.role, "sites": list(o.sites)} for o in officials
        ],
        "gateways": gateways,
    }
