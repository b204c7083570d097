"""The redaction function: its own image (infra/redaction/Dockerfile), with numpy, OpenCV, ONNX Runtime and the
models the API's package does without. Fed by the redactions queue, one redaction a message."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib import wiring
from chalicelib.observability import observed
from chalicelib.services.redactions import RedactionMessage
from redaction.finder import Detectors
from redaction.job import TrackFinder


@functools.cache
def detectors() -> Detectors:
    return Detectors()


def track_finder() -> TrackFinder:
    # Not cached itself: what it is made of is (the models here, the adapters in wiring), and a cache of its
    # own would outlive wiring's when that is cleared (a test's fresh stack).
    return TrackFinder(
        wiring.subject_request_book(),
        wiring.clip_index(),
        wiring.clip_objects(),
        detectors,
        Path(tempfile.gettempdir()),
    )


def _redaction_record(record: SQSRecord) -> None:
    message = RedactionMessage.model_validate_json(record.body)
    track_finder().find(message.request_id, message.redaction_id, wiring.now())


def find_tracks(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """SQS → here, one message a batch (a redaction takes up to minutes): failures go back, then to the DLQ."""

    def handle(_: Any) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event,
            record_handler=_redaction_record,
            processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
            context=context,
        )

    result: PartialItemFailureResponse = observed(SimpleNamespace(context=context), handle)
    return result
