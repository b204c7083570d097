"""Sites, cameras and gateways in DynamoDB."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.domain.catalog import Camera, Gateway, Site
from chalicelib.domain.clips import Stills
from chalicelib.domain.timeutil import iso
from chalicelib.errors import Conflict
from chalicelib.store.dynamo import from_item, is_condition_failure, query_items, to_item

BY_SITE_INDEX = "by_site"
ALL_SITES_INDEX = "all_sites"
# Every site item carries this, so that one key query on the all_sites index lists them (no Scan).
SITE_DIRECTORY = {"directory": "site"}


class Catalog:
    def __init__(self, sites_table: Any, cameras_table: Any, gateways_table: Any) -> None:
        self._sites = sites_table
        self._cameras = cameras_table
        self._gateways = gateways_table

    # Sites are configuration, loaded by the operator of the deployment (local/sites.py).
    def put_site(self, site: Site) -> None:
        self._sites.put_item(Item=to_item(site.model_dump(mode="json")) | SITE_DIRECTORY)

    def site_ids(self) -> list[str]:
        """Every configured site (the scheduled jobs work site by site)."""
        query = {
            "IndexName": ALL_SITES_INDEX,
            "KeyConditionExpression": Key("directory").eq(SITE_DIRECTORY["directory"]),
        }
        return [str(item["site_id"]) for item in query_items(self._sites, query)]

    def get_site(self, site_id: str) -> Site | None:
        item = self._sites.get_item(Key={"site_id": site_id}).get("Item")
        if not item:
            return None
        item.pop("directory", None)
        return Site.model_validate(from_item(item))

    def sites(self, site_ids: Iterable[str]) -> list[Site]:
        found = [self.get_site(site_id) for site_id in sorted(set(site_ids))]
        return [site for site in found if site is not None]

    def add_camera(self, camera: Camera) -> None:
        self._put_new(self._cameras, camera.model_dump(mode="json"), "camera_id", f"camera {camera.camera_id}")

    def get_camera(self, camera_id: str) -> Camera | None:
        item = self._cameras.get_item(Key={"camera_id": camera_id}).get("Item")
        return Camera.model_validate(from_item(item)) if item else None

    def cameras_of_site(self, site_id: str) -> list[Camera]:
        return [Camera.model_validate(item) for item in self._query_site(self._cameras, site_id)]

    def record_clip_time(
        self, camera_id: str, clip_end: datetime, clip_id: str, stills_key: str, stills: Stills
    ) -> None:
        """Advance the camera's last clip (never backwards: clips arrive out of order after outages), with its
        stills (the first is the poster): the camera wall reads them with the cameras, not a query per camera.
        An older clip is the poster still when the camera has none (its latest was erased or expired)."""
        poster = {":clip": clip_id, ":poster": stills_key, ":stills": to_item(stills.model_dump())}
        set_poster = "latest_clip_id = :clip, latest_poster_key = :poster, latest_stills = :stills"
        newer = Attr("last_clip_at").not_exists() | Attr("last_clip_at").lt(iso(clip_end))
        if self._update_camera(
            camera_id, f"SET last_clip_at = :end, {set_poster}", newer, poster | {":end": iso(clip_end)}
        ):
            return
        self._update_camera(camera_id, f"SET {set_poster}", Attr("latest_clip_id").not_exists(), poster)

    def _update_camera(self, camera_id: str, update: str, condition: Any, values: dict[str, Any]) -> bool:
        """Update an existing camera if `condition` holds; whether it did."""
        try:
            self._cameras.update_item(
                Key={"camera_id": camera_id},
                UpdateExpression=update,
                ConditionExpression=Attr("camera_id").exists() & condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False
        return True

    def forget_latest_clip(self, camera_id: str, clip_id: str) -> None:
        """The camera's latest clip was erased: the wall shows no poster of it (its time stays)."""
        try:
            self._cameras.update_item(
                Key={"camera_id": camera_id},
                UpdateExpression="REMOVE latest_clip_id, latest_poster_key, latest_stills",
                ConditionExpression=Attr("latest_clip_id").eq(clip_id),
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def add_gateway(self, gateway: Gateway) -> None:
        self._put_new(self._gateways, gateway.model_dump(mode="json"), "gateway_id", "gateway id")

    def get_gateway(self, gateway_id: str) -> Gateway | None:
        item = self._gateways.get_item(Key={"gateway_id": gateway_id}, ConsistentRead=True).get("Item")
        return Gateway.model_validate(from_item(item)) if item else None

    def gateways_of_site(self, site_id: str) -> list[Gateway]:
        return [Gateway.model_validate(item) for item in self._query_site(self._gateways, site_id)]

    def revoke_gateway(self, gateway_id: str, by: str, now: datetime) -> Gateway | None:
        """Revoke at once; None when there is no such gateway. Revoking twice keeps the first time."""
        try:
            result = self._gateways.update_item(
                Key={"gateway_id": gateway_id},
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now), "
                "revoked_by = if_not_exists(revoked_by, :by)",
                ConditionExpression=Attr("gateway_id").exists(),
                ExpressionAttributeValues={":now": iso(now), ":by": by},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return Gateway.model_validate(from_item(result["Attributes"]))

    def record_heartbeat(self, gateway_id: str, heartbeat: dict[str, Any], now: datetime) -> None:
        self._gateways.update_item(
            Key={"gateway_id": gateway_id},
            UpdateExpression="SET last_seen_at = :now, last_heartbeat = :beat",
            ExpressionAttributeValues={":now": iso(now), ":beat": to_item(heartbeat)},
        )

    @staticmethod
    def _query_site(table: Any, site_id: str) -> list[dict[str, Any]]:
        return list(
            query_items(table, {"IndexName": BY_SITE_INDEX, "KeyConditionExpression": Key("site_id").eq(site_id)})
        )

    @staticmethod
    def _put_new(table: Any, values: dict[str, Any], key: str, what: str) -> None:
        try:
            table.put_item(Item=to_item(values), ConditionExpression=Attr(key).not_exists())
        except ClientError as error:
            if is_condition_failure(error):
                raise Conflict(f"{what} already exists") from error
            raise
