"""What Lambda's event sources do, locally: drain the queues into their handlers, run the retention schedule
on a timer and the audit digests at every boundary of their interval, and hand the API's access log to the
refusal counter as a log subscription would. All call the very handlers app.py declares, with events
shaped as AWS's."""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import importlib
import json
import os
import resource
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.domain.timeutil import iso, parse_time
from chalicelib.observability import logger
from local.private_files import write_private

DEFAULT_RUN_INFO = Path(__file__).resolve().parent.parent / ".local-run" / "run-info.json"
# Locally a failed message is offered again after this long (AWS waits the queue's visibility timeout).
RETRY_AFTER_S = 5

type Handler = Callable[[dict[str, Any], Any], Any]  # (event, context) -> what Lambda's handler returns


@dataclass
class LocalLambdaContext:
    """The parts of Lambda's context object the handlers and Powertools read."""

    function_name: str
    aws_request_id: str = ""
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source hands a function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def scheduled_event(now: datetime, region: str) -> dict[str, Any]:
    """The event EventBridge's schedule hands a function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": iso(now).replace(".000Z", "Z"),
        "region": region,
        "resources": [],
        "detail": {},
    }


def drain_queue(handler_name: str, queue_url: str, stop: threading.Event) -> None:
    """Lambda's SQS event source, locally, into a handler of this process: `handler_name` is one of app.py's
    handlers, or module:function for a function of its own (redaction)."""
    module, _, function = handler_name.rpartition(":")
    drain_into(handler_name, getattr(importlib.import_module(module or "app"), function), queue_url, stop)


def drain_into(handler_name: str, handler: Handler, queue_url: str, stop: threading.Event) -> None:
    """Lambda's SQS event source: receive, call the handler, delete what it did not report failed."""
    sqs = boto3.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    while not stop.is_set():
        try:
            _drain_once(sqs, queue_url, queue_arn, handler_name, handler)
        except Exception:
            # Lambda would retry too: log it and go on, rather than leave the queue undrained.
            logger.exception("batch failed", extra={"handler": handler_name})
            stop.wait(1)


def _drain_once(sqs: Any, queue_url: str, queue_arn: str, handler_name: str, handler: Handler) -> None:
    """One receive → handler → delete round, as Lambda's event source mapping does it."""
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return
    context = LocalLambdaContext(handler_name, aws_request_id=str(uuid.uuid4()))
    with local_invocation(context, records=len(messages)):
        result = handler(sqs_event(messages, queue_arn, sqs.meta.region_name), context)
    failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=RETRY_AFTER_S
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# The handlers app.py puts on a schedule; locally one timer fires them all.
SCHEDULED = ("expire_retention", "write_audit_digests", "fold_refusals", "notify")


def fire(handler_name: str, at: datetime) -> dict[str, Any]:
    """Call a scheduled handler as EventBridge would, as if its schedule fired at `at`."""
    import app

    handler = getattr(app, handler_name)
    region = boto3.session.Session().region_name or "eu-north-1"
    context = LocalLambdaContext(handler_name, aws_request_id=str(uuid.uuid4()))
    with local_invocation(context, records=1):
        result: dict[str, Any] = handler(scheduled_event(at, region), context)
    return result


@contextlib.contextmanager
def local_invocation(context: LocalLambdaContext, records: int) -> Iterator[None]:
    """One invocation as its own Lambda execution environment runs it, and the REPORT line Lambda writes after it.

    Its log lines name its own function and request: Powertools keeps the Lambda context in keys its whole
    process shares, and here the functions share one process (a thread each), so without this one thread's
    lines would name whichever function another thread started last. This thread's own keys win over those.
    The report says what Lambda's does (duration, memory) plus the CPU time: the cost command bills Lambda
    from these lines (CPU time runs slower on a function with less than one vCPU)."""
    logger.thread_safe_append_keys(function_name=context.function_name, function_request_id=context.aws_request_id)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        logger.info(
            "invocation",
            extra={
                "function": context.function_name,
                "records": records,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "cpu_ms": round((time.process_time() - cpu) * 1000, 1),
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
        )
        logger.thread_safe_clear_keys()


def run_schedules(retention_every_s: float, stop: threading.Event) -> None:
    """Retention on the run's own timer; refusal folds and digests on every boundary of their interval, as
    their cron fires on AWS (verification expects a digest at each)."""
    next_retention = time.monotonic() + retention_every_s
    # The boundary just passed first: events written before this process started are digested there.
    next_digest = interval_start(datetime.now(UTC))
    while not stop.is_set():
        wait = min(next_retention - time.monotonic(), (next_digest - datetime.now(UTC)).total_seconds())
        if stop.wait(max(wait, 0)):
            return
        if datetime.now(UTC) >= next_digest:
            _fire_logged("fold_refusals", next_digest)
            _fire_logged("write_audit_digests", next_digest)
            next_digest += DIGEST_INTERVAL
        if time.monotonic() >= next_retention:
            _fire_logged("expire_retention", datetime.now(UTC))
            _fire_logged("notify", datetime.now(UTC))  # what it sends is logged too: jobs.log shows it
            next_retention = time.monotonic() + retention_every_s


def _fire_logged(handler_name: str, at: datetime) -> None:
    try:
        fire(handler_name, at)
    except Exception:
        logger.exception("scheduled handler failed", extra={"handler": handler_name})


def ship_access_log(path: Path, stop: threading.Event) -> None:
    """CloudWatch Logs' subscription, locally: new lines of the API's access log go to CountRefusals.

    How far it has shipped is kept beside the log: the archive keeps its data across restarts, and the log
    is appended to, so a restart must not count the lines of an earlier run again."""
    import app

    shipped = path.with_name(f"{path.name}.shipped")
    offset = int(shipped.read_text()) if shipped.exists() else 0
    while not stop.wait(0.5):
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written is taken next time
        offset += len(complete)
        if complete:
            try:
                context = LocalLambdaContext("count_refusals", aws_request_id=str(uuid.uuid4()))
                app.count_refusals(subscription_event(complete.decode().splitlines()), context)
            except Exception:
                logger.exception("counting refusals failed")
            write_private(shipped, str(offset).encode())


def subscription_event(messages: list[str]) -> dict[str, Any]:
    """The event a CloudWatch Logs subscription filter hands a function."""
    data = {
        "messageType": "DATA_MESSAGE",
        "logGroup": "api-access",
        "logEvents": [{"id": str(n), "timestamp": 0, "message": line} for n, line in enumerate(messages)],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


def run(queues: dict[str, str], schedule_every_s: float, access_log: Path) -> None:
    """Drain each handler's queue, fire the scheduled handlers and ship the access log, until SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    workers = [
        threading.Thread(target=drain_queue, args=(handler, url, stop), name=handler, daemon=True)
        for handler, url in queues.items()
    ]
    workers.append(threading.Thread(target=run_schedules, args=(schedule_every_s, stop), name="schedules", daemon=True))
    workers.append(threading.Thread(target=ship_access_log, args=(access_log, stop), name="access-log", daemon=True))
    for worker in workers:
        worker.start()
    logger.info("local jobs running", extra={"pid": os.getpid(), "queues": queues})
    while not stop.wait(0.5):
        if not all(worker.is_alive() for worker in workers):
            logger.error("a local job died; stopping")
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="drain the ingest queue and fire the scheduled handlers on a timer")
    run_parser.add_argument(
        "--queue", action="append", required=True, metavar="HANDLER=URL", help="a queue and the handler it feeds"
    )
    run_parser.add_argument("--retention-every", type=float, default=60.0, help="seconds between retention sweeps")
    run_parser.add_argument("--access-log", type=Path, required=True, help="the local API's access log")
    fire_parser = commands.add_parser("fire", help="run one scheduled handler once, now or at a given time")
    fire_parser.add_argument("handler", choices=SCHEDULED)
    fire_parser.add_argument("--at", type=parse_time, default=None, help="ISO 8601 time the handler believes it is")
    fire_parser.add_argument(
        "--run-info",
        type=Path,
        default=DEFAULT_RUN_INFO,
        help="the local archive's run-info file, whose functions' environment it takes (default: .local-run/)",
    )
    arguments = parser.parse_args()
    if arguments.command == "run":
        run(dict(entry.split("=", 1) for entry in arguments.queue), arguments.retention_every, arguments.access_log)
    else:
        take_environment(arguments.run_info, os.environ)
        print(json.dumps(fire(arguments.handler, arguments.at or datetime.now(UTC))))  # noqa: T201


def take_environment(run_info: Path, environ: MutableMapping[str, str]) -> None:
    """The functions' environment from the running archive's run-info file, unless it is set already (as the
    run command sets it for its own jobs): one command by hand, nothing to export first."""
    if "SAFE_CLIPS_TABLE" in environ:
        return
    try:
        environment = json.loads(run_info.read_text())["environment"]
    except (OSError, ValueError, KeyError) as error:
        raise SystemExit(
            f"no local archive running from {run_info} ({error}): start it with scripts/run-local"
        ) from error
    environ.update(
        {name: value for name, value in environment.items() if name.startswith(("SAFE_", "AWS_", "POWERTOOLS_"))}
    )


if __name__ == "__main__":
    main()
