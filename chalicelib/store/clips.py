"""The clip index in DynamoDB: registration, the ingest state machine, search and expiry."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from chalicelib.domain.clips import GONE, Clip, ClipStatus, SealedFile, VideoFacts
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
_GONE = sorted(status.value for status in GONE)
# What a tombstone keeps none of: the video's facts and where its footage was.
_STORAGE = (
    "video, thumbnail_keys, thumbnail_versions, quarantine_reason, object_version, sealed_version, "
    "multipart_upload_id, part_sha256"
)
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

    def claim_upload(self, clip: Clip, version_id: str) -> Clip | None:
        """Mark the clip uploaded by this version of its upload; None if it was judged meanwhile (or erased).

        A redelivery of the same version while still `uploaded` claims again, so a crash mid-ingest resumes.
        """
        claimed = "sealed_version" if clip.sealed else "object_version"
        condition = Attr("status").eq(ClipStatus.REGISTERED.value) | (
            Attr("status").eq(ClipStatus.UPLOADED.value) & Attr(claimed).eq(version_id)
        )
        return self._update(
            clip.clip_id,
            f"SET #status = :uploaded, {claimed} = :version",
            {":uploaded": ClipStatus.UPLOADED.value, ":version": version_id},
            condition,
        )

    def mark_indexed(
        self,
        clip: Clip,
        video: VideoFacts,
        thumbnails: list[tuple[str, str]],
        object_version: str,
        now: datetime,
    ) -> Clip | None:
        """The verdict: footage, listed for its camera, with the exact versions stored (the clip's and each
        thumbnail's: `thumbnails` is (key, version) pairs), so expiry deletes them without listing."""
        return self._update(
            clip.clip_id,
            "SET #status = :indexed, video = :video, thumbnail_keys = :thumbs, thumbnail_versions = :versions, "
            f"object_version = :object, bytes_verified = :true, ingested_at = :now, {LISTED_CAMERA} = :camera "
            "REMOVE part_sha256",
            {
                ":indexed": ClipStatus.INDEXED.value,
                ":video": to_item(video.model_dump()),
                ":thumbs": [key for key, _ in thumbnails],
                ":versions": [version for _, version in thumbnails],
                ":object": object_version,
                ":true": True,
                ":now": iso(now),
                ":camera": clip.camera_id,
            },
            self._judging(clip),
        )

    def mark_quarantined(self, clip: Clip, reason: str, bytes_verified: bool, now: datetime) -> Clip | None:
        """Set aside with the reason; `bytes_verified` if the bytes were the registered ones (a video problem)."""
        return self._update(
            clip.clip_id,
            "SET #status = :quarantined, quarantine_reason = :reason, bytes_verified = :verified, ingested_at = :now "
            "REMOVE part_sha256",
            {
                ":quarantined": ClipStatus.QUARANTINED.value,
                ":reason": reason[:500],
                ":verified": bytes_verified,
                ":now": iso(now),
            },
            self._judging(clip),
        )

    def mark_expired(self, clip: Clip, now: datetime) -> Clip | None:
        """Keep ids and times only; None if a hold arrived or another sweep got there first."""
        return self._update(
            clip.clip_id,
            f"SET #status = :expired, expired_at = :now REMOVE {_STORAGE}, {LISTED_CAMERA}, {EXPIRY_QUEUE}",
            {":expired": ClipStatus.EXPIRED.value, ":now": iso(now)},
            ~Attr("status").is_in(_GONE) & Attr("holds").not_exists(),
        )

    def mark_erased(self, clip: Clip, by: str, reason: str, now: datetime) -> Clip | None:
        """The Art. 17 tombstone: ids, times, who and why; None if a case holds it (or it is already gone)."""
        return self._update(
            clip.clip_id,
            "SET #status = :erased, erased_at = :now, erased_by = :by, erasure_reason = :reason "
            f"REMOVE {_STORAGE}, {LISTED_CAMERA}, {EXPIRY_QUEUE}",
            {":erased": ClipStatus.ERASED.value, ":now": iso(now), ":by": by, ":reason": reason},
            ~Attr("status").is_in(_GONE) & Attr("holds").not_exists(),
        )

    def reopen(self, clip: Clip) -> Clip | None:
        """Await the clip's bytes again after an upload that was not them; None if that changed meanwhile."""
        return self._update(
            clip.clip_id,
            "SET #status = :registered REMOVE quarantine_reason, ingested_at, object_version, sealed_version, "
            "multipart_upload_id, part_sha256",
            {":registered": ClipStatus.REGISTERED.value},
            Attr("status").eq(ClipStatus.QUARANTINED.value) & Attr("bytes_verified").eq(False),
        )

    def reseal(self, clip_id: str, sealed: SealedFile | None, object_key: str) -> Clip | None:
        """Replace what the gateway will upload, and where the playable clip will be (sealed or not), while
        nothing has been uploaded yet."""
        awaited = Attr("status").eq(ClipStatus.REGISTERED.value)
        if sealed is None:
            return self._update(clip_id, "SET object_key = :key REMOVE sealed", {":key": object_key}, awaited)
        return self._update(
            clip_id,
            "SET sealed = :sealed, object_key = :key",
            {":sealed": sealed.model_dump(), ":key": object_key},
            awaited,
        )

    def start_multipart(
        self, clip_id: str, upload_id: str, part_sha256: list[str], replacing: str | None
    ) -> Clip | None:
        """Record the clip's multipart upload and the sha256 declared for each part (signed into the part URLs);
        None if another request recorded a different upload first."""
        condition: Any = (
            Attr("multipart_upload_id").not_exists() if replacing is None else Attr("multipart_upload_id").eq(replacing)
        )
        return self._update(
            clip_id,
            "SET multipart_upload_id = :upload, part_sha256 = :parts",
            {":upload": upload_id, ":parts": part_sha256},
            condition & Attr("status").eq(ClipStatus.REGISTERED.value),
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
        """Pages of a site's clips that may be due and are held by no case: past their stored date, or older than
        the current policy. The indexes hold dates and holds alone: the records of those found are read whole."""
        by_date = Key(EXPIRY_QUEUE).eq(site) & Key("retain_until").lte(iso(now))
        by_age = Key(EXPIRY_QUEUE).eq(site) & Key("start").lte(iso(now - timedelta(days=retention_days)))
        for index, condition in ((BY_EXPIRY_INDEX, by_date), (BY_SITE_START_INDEX, by_age)):
            query = {"IndexName": index, "KeyConditionExpression": condition, "Limit": page_size}
            for page in query_pages(self._table, query | {"FilterExpression": Attr("holds").not_exists()}):
                if page:
                    yield self._records([item["clip_id"] for item in page])

    def _records(self, clip_ids: list[str]) -> list[Clip]:
        """The clips' whole records, read consistently, in as few requests as DynamoDB allows (100 keys each)."""
        found: list[Clip] = []
        name = self._table.name
        for first in range(0, len(clip_ids), 100):
            request = {name: {"Keys": [{"clip_id": c} for c in clip_ids[first : first + 100]], "ConsistentRead": True}}
            for attempt in itertools.count():
                # The resource's own client: it takes and gives plain values, as the table does.
                answer = self._table.meta.client.batch_get_item(RequestItems=request)
                found += [_clip(item) for item in answer["Responses"].get(name, [])]
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 2.0))  # keys left unread under throttling: back off, ask again
        return found

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
        # Only the worker that claimed this version of the upload may give the verdict.
        claimed = "sealed_version" if clip.sealed else "object_version"
        return Attr("status").eq(ClipStatus.UPLOADED.value) & Attr(claimed).eq(clip.claimed_version)

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
