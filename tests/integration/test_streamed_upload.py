"""A streamed upload against S3 (moto in process): parts leave while the writer goes on, nothing stays of an
upload aborted or refused."""

from __future__ import annotations

import os

import boto3
import pytest

from chalicelib import wiring
from chalicelib.store.streamed_upload import PART_BYTES, PartNotStored, StreamedUpload
from local.processes import wait_until


def uploads_under(key: str) -> list[dict]:
    listed = boto3.client("s3").list_multipart_uploads(Bucket=wiring.get_settings().clips_bucket, Prefix=key)
    return listed.get("Uploads", [])


def parts_of(upload: dict) -> list[int]:
    listed = boto3.client("s3").list_parts(
        Bucket=wiring.get_settings().clips_bucket, Key=upload["Key"], UploadId=upload["UploadId"]
    )
    return [part["PartNumber"] for part in listed.get("Parts", [])]


def versions_under(key: str) -> list[dict]:
    listed = boto3.client("s3").list_object_versions(Bucket=wiring.get_settings().clips_bucket, Prefix=key)
    return listed.get("Versions", [])


def test_parts_are_sent_as_they_fill_and_the_object_is_assembled_whole(deployed):
    upload = wiring.clip_objects().streamed_put("opened/a.mp4", "video/mp4")
    data = os.urandom(2 * PART_BYTES + 12345)

    for start in range(0, len(data), 1 << 20):
        upload.write(data[start : start + (1 << 20)])
    upload.flush()
    # The two full parts reach S3 with the writer done and nothing completed: the rest waits for complete().
    wait_until(lambda: len(parts_of(uploads_under("opened/a.mp4")[0])) == 2, "two parts stored", timeout_s=30)
    version = upload.complete()

    stored = boto3.client("s3").get_object(
        Bucket=wiring.get_settings().clips_bucket, Key="opened/a.mp4", VersionId=version
    )
    assert stored["Body"].read() == data
    assert stored["ContentType"] == "video/mp4" and stored["ServerSideEncryption"] == "aws:kms"
    assert stored["ETag"].strip('"').endswith("-3")
    assert uploads_under("opened/a.mp4") == []


def test_an_aborted_upload_leaves_nothing_and_the_next_writes_begin_anew(deployed):
    upload = wiring.clip_objects().streamed_put("opened/b.mp4", "video/mp4")
    upload.write(os.urandom(PART_BYTES + 1))
    upload.abort()

    assert uploads_under("opened/b.mp4") == [] and versions_under("opened/b.mp4") == []
    upload.write(b"the second attempt")
    version = upload.complete()
    stored = boto3.client("s3").get_object(
        Bucket=wiring.get_settings().clips_bucket, Key="opened/b.mp4", VersionId=version
    )
    assert stored["Body"].read() == b"the second attempt"


def test_a_part_s3_refuses_fails_the_upload_and_leaves_nothing(deployed):
    s3, bucket = boto3.client("s3"), wiring.get_settings().clips_bucket
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": wiring.get_settings().clips_key_arn}
    upload = StreamedUpload(s3, bucket, "opened/c.mp4", {"ContentType": "video/mp4"} | encryption)

    def refusing_the_second(params, **_):
        if params["PartNumber"] == 2:
            raise ConnectionError("the connection dropped")

    s3.meta.events.register("before-parameter-build.s3.UploadPart", refusing_the_second)
    upload.write(os.urandom(2 * PART_BYTES))

    with pytest.raises(PartNotStored, match="the connection dropped"):
        upload.complete()
    assert uploads_under("opened/c.mp4") == [] and versions_under("opened/c.mp4") == []
