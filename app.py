"""Safe Society footage archive: the table of contents of routes and event handlers."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from chalice import Chalice, Cron, Rate, Response
from chalice.app import CloudWatchEvent, Request, SQSEvent

from chalicelib import wiring
from chalicelib.api.admin import admin_api
from chalicelib.api.authorizers import authorizers
from chalicelib.api.cases import cases_api
from chalicelib.api.console import console_api
from chalicelib.api.gateway import gateway_api
from chalicelib.api.governance import governance_api
from chalicelib.api.http import errors_as_ours
from chalicelib.api.officials import officials_api
from chalicelib.api.public import public_api
from chalicelib.api.shares import shares_api
from chalicelib.api.subject_requests import subject_requests_api
from chalicelib.domain.audit_chain import DIGEST_INTERVAL
from chalicelib.domain.timeutil import parse_time
from chalicelib.observability import logger, metrics, observed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

app = Chalice(app_name="safe-society-archive")
BLUEPRINTS = (
    authorizers,
    public_api,
    gateway_api,
    officials_api,
    admin_api,
    governance_api,
    cases_api,
    shares_api,
    subject_requests_api,
    console_api,
)
for blueprint in BLUEPRINTS:
    app.register_blueprint(blueprint)


@app.middleware("all")
def powertools(event: Any, get_response: Callable[[Any], Any]) -> Any:
    return observed(event, get_response)


@app.middleware("http")
def json_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    return errors_as_ours(get_response(event))


# The queues are declared in infra/template.yaml; the packaged event sources are pointed at them there.
INGEST_QUEUE = "safe-society-ingest"
EXPORTS_QUEUE = "safe-society-exports"
RETENTION_QUEUE = "safe-society-retention"


def each_record(event: SQSEvent, record_handler: Callable[[SQSRecord], None]) -> PartialItemFailureResponse:
    """Each record of the batch on its own; failures go back to the queue, then the DLQ."""
    # Imported here: Powertools' batch utility (with asyncio) is half of what import app would add for the
    # API's cold start, and only the queue functions use it.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.typing import LambdaContext

    return process_partial_response(
        event=event.to_dict(),
        record_handler=record_handler,
        # A wholly failed batch is reported item by item too, not raised: each message retries on its own.
        processor=BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False),
        context=cast(LambdaContext | None, event.context),
    )


def _ingest_record(record: SQSRecord) -> None:
    from chalicelib.handlers.ingest import uploaded_objects  # the queue functions' own modules: not the API's

    metrics.add_metric(name="IngestMessages", unit="Count", value=1)
    try:
        for uploaded in uploaded_objects(record.body):
            verdict = wiring.clip_ingest().ingest(uploaded, wiring.now())
            metrics.add_metric(name=f"Clips{verdict.value.title()}", unit="Count", value=1)
    except Exception:
        logger.exception("ingest failed; the message goes back to the queue", extra={"message_id": record.message_id})
        metrics.add_metric(name="IngestFailures", unit="Count", value=1)
        raise


@app.on_sqs_message(queue=INGEST_QUEUE, batch_size=10)
def ingest_clips(event: SQSEvent) -> PartialItemFailureResponse:
    """S3 → SQS → here: each record judged on its own."""
    return each_record(event, _ingest_record)


def _export_record(record: SQSRecord) -> None:
    from chalicelib.handlers.exports import export_message

    request_id, export_id = export_message(record.body)
    wiring.export_maker().make(request_id, export_id, wiring.now())


@app.on_sqs_message(queue=EXPORTS_QUEUE, batch_size=1)
def make_exports(event: SQSEvent) -> PartialItemFailureResponse:
    """Subject access exports, made apart from the API (video work takes seconds, and PyAV)."""
    return each_record(event, _export_record)


# On the interval's boundaries (a rate would drift off them by however late the rule was created).
@app.schedule(Cron(f"0/{DIGEST_INTERVAL.seconds // 60}", "*", "*", "*", "?", "*"))
def write_audit_digests(event: CloudWatchEvent) -> dict[str, int]:
    """Every interval: sign each audit chain's segment heads and lock them away in the digest bucket."""
    return {"digests": wiring.digest_writer().run(_fired_at(event), wiring.now())}


@app.lambda_function(name="count_refusals")
def count_refusals(event: dict[str, Any], context: object) -> dict[str, int]:
    """API Gateway's access log → subscription filter → here: anonymous refusals counted per source."""
    return {"refusals": wiring.refusal_counter().count(event)}


@app.schedule(Cron(f"0/{DIGEST_INTERVAL.seconds // 60}", "*", "*", "*", "?", "*"))
def fold_refusals(event: CloudWatchEvent) -> dict[str, int]:
    """Every interval: the counts of anonymous refusals of the intervals just closed go into the audit trail."""
    return {"events": wiring.refusal_folder().run(_fired_at(event), wiring.now())}


def _fired_at(event: CloudWatchEvent) -> datetime:
    return parse_time(event.time) if event.time else wiring.now()


@app.schedule(Rate(1, unit=Rate.HOURS))
def expire_retention(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly: ask for each site's sweep of what retention no longer allows, as of the time the schedule fired."""
    return {"sites": wiring.retention_sweep().start(_fired_at(event))}


@app.on_sqs_message(queue=RETENTION_QUEUE, batch_size=1)
def expire_site(event: SQSEvent) -> PartialItemFailureResponse:
    """One site's sweep, handed on to another run of this function when it would outlast this one."""
    context = cast("LambdaContext | None", event.context)

    def seconds_left() -> float:
        return float(context.get_remaining_time_in_millis()) / 1000 if context else math.inf

    def sweep_record(record: SQSRecord) -> None:
        wiring.retention_sweep().take(record.body, seconds_left)

    return each_record(event, sweep_record)


@app.schedule(Rate(1, unit=Rate.HOURS))
def notify(event: CloudWatchEvent) -> dict[str, int]:
    """Hourly: tell each site's DPO and admins (its SNS topic) what needs them, each thing once."""
    report = wiring.notifier().run(_fired_at(event))
    return {"notices": report.told, "failed_sites": len(report.failed_sites)}
