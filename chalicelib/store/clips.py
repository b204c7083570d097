"""The clip index in DynamoDB: registration, the ingest state machine, search and expiry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.domain.clips import Clip, ClipStatus, SealedFile, VideoFacts
from chalicelib.domain.timeutil import iso
from chalicelib.store.dynamo import (
    decode_cursor,
    encode_cursor,
    from_item,
    is_condition_failure,
    query_pages,
    to_item,
)

# Sparse index keys: an attribute is present only while the clip belongs in that index.
LISTED_CAMERA = "listed_camera"  # set once indexed, so search never meets unverified footage
EXPIRY_QUEUE = "expiry_queue"  # the clip's site, while footage exists: the sweep reads only what is due
BY_CAMERA_INDEX = "by_camera"
BY_EXPIRY_INDEX = "by_expiry"  # expiry_queue + retain_until: due by the date set when the clip came
BY_SITE_START_INDEX = "by_site_start"  # expiry_queue + start: due by a policy shortened since
_GONE = [ClipStatus.EXPIRED.value, ClipStatus.ERASED.value]
_CAMERA_PAGE_KEYS = {"clip_id": str, LISTED_CAMERA: str, "start": str}


@dataclass(frozen=True)
class ClipPage:
    clips: list[Clip]
    cursor: str | None


class ClipIndex:
    def __init__(self, table: Any) -> None:
        self._table = table

    def register(self, clip: Clip) -> Clip | None:
        """Store a new registration; None when the clip id is already taken."""
        item = to_item(clip.model_dump(mode="json"))
        item[EXPIRY_QUEUE] = clip.site
        try:
            self._table.put_item(Item=item, ConditionExpression=Attr("clip_id").not_exists())
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return clip

    def get(self, clip_id: str) -> Clip | None:
        item = self._table.get_item(Key={"clip_id": clip_id}, ConsistentRead=True).get("Item")
        return _clip(item) if item else None

    def claim_upload(self, clip_id: str, version_id: str) -> Clip | None:
        """Mark the clip uploaded by this object version; None if it was already judged (a duplicate event).

        A redelivery of the same version while still `uploaded` claims again, so a crash mid-ingest resumes.
        """
        condition = Attr("status").eq(ClipStatus.REGISTERED.value) | (
            Attr("status").eq(ClipStatus.UPLOADED.value) & Attr("object_version").eq(version_id)
        )
        return self._update(
            clip_id,
            "SET #status = :uploaded, object_version = :version",
            {":uploaded": ClipStatus.UPLOADED.value, ":version": version_id},
            condition,
        )

    def mark_indexed(self, clip: Clip, video: VideoFacts, thumbnail_keys: list[str], now: datetime) -> Clip | None:
        return self._update(
            clip.clip_id,
            "SET #status = :indexed, video = :video, thumbnail_keys = :thumbs, ingested_at = :now, "
            f"{LISTED_CAMERA} = :camera",
            {
                ":indexed": ClipStatus.INDEXED.value,
                ":video": to_item(video.model_dump()),
                ":thumbs": thumbnail_keys,
                ":now": iso(now),
                ":camera": clip.camera_id,
            },
            self._judging(clip),
        )

    def mark_quarantined(self, clip: Clip, reason: str, now: datetime) -> Clip | None:
        return self._update(
            clip.clip_id,
            "SET #status = :quarantined, quarantine_reason = :reason, ingested_at = :now",
            {":quarantined": ClipStatus.QUARANTINED.value, ":reason": reason[:500], ":now": iso(now)},
            self._judging(clip),
        )

    def mark_expired(self, clip: Clip, now: datetime) -> Clip | None:
        """Keep ids and times only; None if a hold arrived or another sweep got there first."""
        return self._update(
            clip.clip_id,
            "SET #status = :expired, expired_at = :now REMOVE video, thumbnail_keys, quarantine_reason, "
            f"object_version, {LISTED_CAMERA}, {EXPIRY_QUEUE}",
            {":expired": ClipStatus.EXPIRED.value, ":now": iso(now)},
            ~Attr("status").is_in(_GONE) & Attr("holds").not_exists(),
        )

    def mark_erased(self, clip: Clip, by: str, reason: str, now: datetime) -> Clip | None:
        """The Art. 17 tombstone: ids, times, who and why; None if a case holds it (or it is already gone)."""
        return self._update(
            clip.clip_id,
            "SET #status = :erased, erased_at = :now, erased_by = :by, erasure_reason = :reason "
            "REMOVE video, thumbnail_keys, quarantine_reason, object_version, "
            f"{LISTED_CAMERA}, {EXPIRY_QUEUE}",
            {":erased": ClipStatus.ERASED.value, ":now": iso(now), ":by": by, ":reason": reason},
            ~Attr("status").is_in(_GONE) & Attr("holds").not_exists(),
        )

    def reseal(self, clip_id: str, sealed: SealedFile | None) -> Clip | None:
        """Replace what the gateway will upload, while nothing has been uploaded yet."""
        if sealed is None:
            return self._update(clip_id, "REMOVE sealed", {}, Attr("status").eq(ClipStatus.REGISTERED.value))
        return self._update(
            clip_id,
            "SET sealed = :sealed",
            {":sealed": sealed.model_dump()},
            Attr("status").eq(ClipStatus.REGISTERED.value),
        )

    def start_multipart(self, clip_id: str, upload_id: str, replacing: str | None) -> Clip | None:
        """Record the clip's multipart upload; None if another request recorded a different one first."""
        condition: Any = (
            Attr("multipart_upload_id").not_exists() if replacing is None else Attr("multipart_upload_id").eq(replacing)
        )
        return self._update(
            clip_id,
            "SET multipart_upload_id = :upload",
            {":upload": upload_id},
            condition & Attr("status").eq(ClipStatus.REGISTERED.value),
        )

    def quarantine_registered(self, clip: Clip, reason: str, now: datetime) -> Clip | None:
        """Quarantine before any plaintext exists (a sealed upload that does not open or does not match)."""
        return self._update(
            clip.clip_id,
            "SET #status = :quarantined, quarantine_reason = :reason, ingested_at = :now",
            {":quarantined": ClipStatus.QUARANTINED.value, ":reason": reason[:500], ":now": iso(now)},
            Attr("status").eq(ClipStatus.REGISTERED.value),
        )

    def add_hold(self, clip_id: str, case_id: str) -> Clip | None:
        """Hold the clip for a case; None if its footage is already gone."""
        return self._update(
            clip_id,
            "ADD holds :case",
            {":case": {case_id}},
            Attr("clip_id").exists() & ~Attr("status").is_in(_GONE),
        )

    def remove_hold(self, clip_id: str, case_id: str) -> Clip | None:
        """Release the case's hold (the attribute disappears with the last one); None if there is no clip."""
        return self._update(clip_id, "DELETE holds :case", {":case": {case_id}}, Attr("clip_id").exists())

    def camera_clips(
        self, camera_id: str, start_from: datetime, start_to: datetime, limit: int, cursor: str | None
    ) -> ClipPage:
        """Indexed clips of a camera starting in the window, newest first."""
        query: dict[str, Any] = {
            "IndexName": BY_CAMERA_INDEX,
            "KeyConditionExpression": Key(LISTED_CAMERA).eq(camera_id)
            & Key("start").between(iso(start_from), iso(start_to)),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        start_key = decode_cursor(cursor, {LISTED_CAMERA: camera_id}, _CAMERA_PAGE_KEYS)
        if start_key:
            query["ExclusiveStartKey"] = start_key
        page = self._table.query(**query)
        return ClipPage([_clip(item) for item in page["Items"]], encode_cursor(page.get("LastEvaluatedKey")))

    def due_for_expiry(self, site: str, now: datetime, retention_days: int, page_size: int) -> Iterator[list[Clip]]:
        """Pages of a site's clips that may be due: past their stored date, or older than the current policy."""
        by_date = Key(EXPIRY_QUEUE).eq(site) & Key("retain_until").lte(iso(now))
        yield from self._pages({"IndexName": BY_EXPIRY_INDEX, "KeyConditionExpression": by_date, "Limit": page_size})
        by_age = Key(EXPIRY_QUEUE).eq(site) & Key("start").lte(iso(now - timedelta(days=retention_days)))
        yield from self._pages({"IndexName": BY_SITE_START_INDEX, "KeyConditionExpression": by_age, "Limit": page_size})

    def camera_window(self, camera_id: str, start_from: datetime, start_to: datetime) -> Iterator[Clip]:
        """Every indexed clip of a camera starting in the window (cases hold, subject requests find them)."""
        condition = Key(LISTED_CAMERA).eq(camera_id) & Key("start").between(iso(start_from), iso(start_to))
        for page in self._pages({"IndexName": BY_CAMERA_INDEX, "KeyConditionExpression": condition}):
            yield from page

    def _pages(self, query: dict[str, Any]) -> Iterator[list[Clip]]:
        for page in query_pages(self._table, query):
            yield [_clip(item) for item in page]

    @staticmethod
    def _judging(clip: Clip) -> Any:
        # Only the worker that claimed this object version may give the verdict.
        return Attr("status").eq(ClipStatus.UPLOADED.value) & Attr("object_version").eq(clip.object_version)

    def _update(self, clip_id: str, expression: str, values: dict[str, Any], condition: Any) -> Clip | None:
        try:
            names = {"ExpressionAttributeNames": {"#status": "status"}} if "#status" in expression else {}
            result = self._table.update_item(
                Key={"clip_id": clip_id},
                UpdateExpression=expression,
                **({"ExpressionAttributeValues": values} if values else {}),
                ConditionExpression=condition,
                ReturnValues="ALL_NEW",
                **names,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise
        return _clip(result["Attributes"])


def _clip(item: dict[str, Any]) -> Clip:
    values = from_item(item)
    values.pop(LISTED_CAMERA, None)
    values.pop(EXPIRY_QUEUE, None)
    return Clip.model_validate(values)
