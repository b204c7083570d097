"""Powertools Logger, Metrics and Tracer, set up once and put on every handler as Powertools' examples do.

Chalice builds the Lambda entry points itself, so the decorators (`inject_lambda_context`, `log_metrics` with
the cold start metric, `capture_lambda_handler`) are applied around each invocation by an "all" middleware
(app.py), and around the authorizers, which Chalice runs without middleware, by their own class
(chalicelib/api/authorizers.py). The Tracer is made only where X-Ray is on (a Lambda with active tracing:
production), on the first invocation: creating one imports aws_xray_sdk (0.6 to 3 s here), which `import app`
must not pay.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "safe-society-archive"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="SafeSociety", service=SERVICE)


def tracing_active(environ: Mapping[str, str]) -> bool:
    """Lambda names the X-Ray daemon only for a function with active tracing; Powertools' switch turns it off."""
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in {"1", "true"}
    return bool(environ.get("AWS_XRAY_DAEMON_ADDRESS")) and not disabled


@functools.cache
def tracer() -> Any:
    """The Tracer where tracing is on, else None (its import patches boto3 and costs a second)."""
    if not tracing_active(os.environ):
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def lambda_context_of(event: Any) -> Any:
    """The Lambda context of a chalice event (an HTTP request carries it as `lambda_context`)."""
    return getattr(event, "lambda_context", None) or getattr(event, "context", None)


def observed(event: Any, get_response: Callable[[Any], Any], context: Any = None) -> Any:
    """One invocation under Powertools: the context in every log line, metrics flushed with a cold start
    metric, and the invocation traced where tracing is on. `context` is Lambda's, where the event does not
    carry it (an authorizer's)."""

    def handler(_event: dict[str, Any], _context: Any) -> Any:
        return get_response(event)

    context = context or lambda_context_of(event)
    if context is None:  # called as a plain function (a test, a script): there is no invocation to describe
        return get_response(event)

    handled = metrics.log_metrics(capture_cold_start_metric=True)(handler)
    handled = logger.inject_lambda_context(handled)
    if (active := tracer()) is not None:
        handled = active.capture_lambda_handler(handled)
    return handled({}, context)
