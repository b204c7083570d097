"""Anonymous refusals: counted from API Gateway's access log, folded into the site-less audit chain."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime
from typing import Any

from chalicelib.domain.audit import NO_SITE, Outcome
from chalicelib.domain.refusals import count_access_log, fold, intervals_to_fold
from chalicelib.policy import Action
from chalicelib.store.audit import AuditLog
from chalicelib.store.refusals import RefusalCounts


def access_log_messages(event: dict[str, Any]) -> list[str]:
    """The log lines of a CloudWatch Logs subscription event (base64 of gzipped JSON)."""
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    return [str(entry["message"]) for entry in data.get("logEvents", [])]


class RefusalCounter:
    def __init__(self, counts: RefusalCounts) -> None:
        self._counts = counts

    def count(self, event: dict[str, Any]) -> int:
        """How many refusals the event carried."""
        counts = count_access_log(access_log_messages(event))
        self._counts.add(counts)
        return sum(count.total for count in counts)


class RefusalFolder:
    def __init__(self, counts: RefusalCounts, audit: AuditLog) -> None:
        self._counts = counts
        self._audit = audit

    def run(self, scheduled_at: datetime, now: datetime) -> int:
        """Put the counts of every closed interval not yet folded into the audit trail; how many events."""
        written = 0
        for interval in intervals_to_fold(scheduled_at):
            if not self._counts.begin_fold(interval):
                continue
            for folded in fold(interval, self._counts.counts(interval)):
                self._audit.record(
                    None,
                    Action.AUTHENTICATE,
                    NO_SITE,
                    folded.target,
                    Outcome.REFUSED,
                    now,
                    reason=folded.reason,
                    count=folded.count,
                )
                written += 1
        return written
