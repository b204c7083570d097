"""Logging as JSON lines on stderr: journald keeps them, and a log shipper parses them without regexes."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from gateway.agent.clock import iso


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, event, and the fields given with `event()`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": iso(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def event(logger: logging.Logger, level: int, what: str, /, **fields: Any) -> None:
    """Log the event `what` with structured `fields` (kept as keys of the JSON line, not formatted into text)."""
    logger.log(level, what, extra={"fields": fields})
