"""The local moto server as boto3 sees it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "eu-north-1"
# The local moto server's own route (local/moto_state.py): POST writes a snapshot of its state now.
SNAPSHOT_PATH = "/_local/snapshot"
# moto accepts any credentials; fixed ones keep every local process in the same account.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local-secret"}
_per_thread = threading.local()


@dataclass(frozen=True)
class AwsEndpoint:
    """`url` None: boto3's own endpoints (what moto's in-process `mock_aws` intercepts)."""

    url: str | None
    region: str = REGION

    def _session(self) -> boto3.Session:
        """One session per thread and region: a new session loads each service's model anew (about 0.15 s a
        client, seconds over a deploy and its demo data), and a session is not safe to share across threads."""
        sessions: dict[str, boto3.Session] = _per_thread.__dict__.setdefault("sessions", {})
        if self.region not in sessions:
            sessions[self.region] = boto3.Session(
                aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=self.region,
            )
        return sessions[self.region]

    def client(self, service: Any) -> Any:  # Any: boto3-stubs overload on literal service names
        return self._session().client(service, endpoint_url=self.url)

    def resource(self, service: Any) -> Any:
        return self._session().resource(service, endpoint_url=self.url)

    def environment(self) -> dict[str, str]:
        """What a child process needs so that every boto3 client it makes talks to this endpoint."""
        if self.url is None:
            raise ValueError("an in-process endpoint cannot be handed to another process")
        return CREDENTIALS | {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }


def wait_until_drained(sqs: Any, queue_url: str, timeout_s: float) -> None:
    """Until the queue holds no message, waiting or being handled: each handled to its end, its message deleted.
    TimeoutError if it still holds one after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while any(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"][n] != "0" for n in names
    ):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the queue {queue_url} was not drained in {timeout_s:g} s")
        time.sleep(0.1)
