"""An object stored in parts while it is being written: a large sealed clip's plaintext goes to S3 as ingest
opens it, where storing it after opening it took as long again."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

# S3's parts are 5 MiB at least (the last excepted); larger ones mean fewer requests for the same bytes.
PART_BYTES = 16 << 20
# Parts on their way at once: the memory bound (this many parts, and one being filled) and the overlap.
PARTS_IN_FLIGHT = 4
_PART_FACTS = ("ETag", "ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")


class PartNotStored(Exception):
    """S3 did not store a part (or the upload's assembly): nothing of the upload is kept. Not an OSError, so
    that a reader of the error (pyrage's chunk that fails authentication is an OSError) never takes it for a
    verdict on the bytes."""


class StreamedUpload:
    """A file-like sink that sends what it is given to S3 in parts, several on their way at once, while the
    writer goes on. `complete` assembles them into the object; `abort` drops what was sent (and the next
    write begins anew). Threads are named after the writer's (`<writer>.parts`): the cost command counts
    their requests as overlapping the writer's own."""

    def __init__(self, s3_client: Any, bucket: str, key: str, extra_arguments: dict[str, str]) -> None:
        self._s3 = s3_client
        self._bucket = bucket
        self._key = key
        self._extra = extra_arguments
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[Future[dict[str, Any]]] = []
        self._room = threading.BoundedSemaphore(PARTS_IN_FLIGHT)
        self._pool: ThreadPoolExecutor | None = None

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= PART_BYTES:
            self._send(bytes(memoryview(self._buffer)[:PART_BYTES]))
            del self._buffer[:PART_BYTES]
        return len(data)

    def flush(self) -> None:
        """Parts leave as they fill: nothing to do before `complete`."""

    def complete(self) -> str:
        """Send what is left, wait for every part, assemble the object; its version id. PartNotStored (and
        nothing kept) if S3 did not store a part or the whole."""
        try:
            if self._buffer or not self._parts:
                self._send(bytes(self._buffer))
                self._buffer.clear()
            parts = [part.result() for part in self._parts]
            assert self._upload_id is not None
            stored = self._s3.complete_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": parts}
            )
        except Exception as error:
            self.abort()
            if isinstance(error, PartNotStored):
                raise
            raise PartNotStored(f"{self._key}: {error}") from error
        self._close_pool()
        self._upload_id = None
        self._parts = []
        return str(stored.get("VersionId") or "null")

    def abort(self) -> None:
        """Drop every part sent (waiting for those on their way), and begin anew at the next write."""
        wait(self._parts)
        self._close_pool()
        if self._upload_id is not None:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        self._upload_id = None
        self._parts = []
        self._buffer.clear()

    def _send(self, part: bytes) -> None:
        failed = next((sent for sent in self._parts if sent.done() and sent.exception()), None)
        if failed is not None:
            raise PartNotStored(f"{self._key}: {failed.exception()}")
        if self._upload_id is None:
            created = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key, **self._extra)
            self._upload_id = str(created["UploadId"])
        if self._pool is None:
            name = f"{threading.current_thread().name}.parts"
            self._pool = ThreadPoolExecutor(max_workers=PARTS_IN_FLIGHT, thread_name_prefix=name)
        self._room.acquire()  # at most PARTS_IN_FLIGHT parts held in memory
        future = self._pool.submit(self._upload_part, self._upload_id, len(self._parts) + 1, part)
        future.add_done_callback(lambda _: self._room.release())
        self._parts.append(future)

    def _upload_part(self, upload_id: str, number: int, part: bytes) -> dict[str, Any]:
        sent = self._s3.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=upload_id, PartNumber=number, Body=part
        )
        # The part's ETag, and whatever checksum S3 took of it (CompleteMultipartUpload wants them back).
        return {"PartNumber": number} | {name: sent[name] for name in _PART_FACTS if name in sent}

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
