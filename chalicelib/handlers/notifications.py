"""The scheduled notification job: for each site, what needs its DPO and admins, sent once to its SNS topic
(and to the archive's admins while nobody is subscribed to it). One site's failure leaves the others told."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from botocore.exceptions import ClientError

from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.domain.notifications import DUE_SOON, Notice, SiteState, for_admins, message, notices
from chalicelib.domain.shares import ShareStatus
from chalicelib.domain.subject_requests import RequestStatus
from chalicelib.domain.timeutil import site_date
from chalicelib.observability import logger, metrics
from chalicelib.store.cases import CaseBook
from chalicelib.store.catalog import Catalog
from chalicelib.store.digests import AuditDigests
from chalicelib.store.notifications import SentNotices, SiteTopics
from chalicelib.store.shares import ShareBook
from chalicelib.store.subject_requests import SubjectRequestBook


class Notifier:
    def __init__(
        self,
        catalog: Catalog,
        shares: ShareBook,
        requests: SubjectRequestBook,
        cases: CaseBook,
        digests: AuditDigests,
        sent: SentNotices,
        topics: SiteTopics,
        silent_after: timedelta,
    ) -> None:
        self._catalog = catalog
        self._shares = shares
        self._requests = requests
        self._cases = cases
        self._digests = digests
        self._sent = sent
        self._topics = topics
        self._silent_after = silent_after

    def run(self, now: datetime) -> NotifyReport:
        """Tell every site what is new for it. A site that fails is logged and counted and its notices wait
        for the next run; the sites after it are told all the same."""
        told, failed = 0, []
        for site in self._catalog.sites(self._catalog.site_ids()):
            try:
                told += self._tell(site.site_id, site.timezone, now)
            except Exception as error:
                failed.append(site.site_id)
                _log_failure(site.site_id, error)
        return NotifyReport(told=told, failed_sites=tuple(failed))

    def _tell(self, site: str, zone: str, now: datetime) -> int:
        """The site's new notices, sent; how many. If anything fails, none of them counts as told."""
        fresh: list[Notice] = []
        try:
            for notice in notices(self._state(site, zone, now), now, self._silent_after):
                if self._sent.first_time(notice.site, notice.key, now):
                    fresh.append(notice)
            if fresh:
                self._send(site, fresh)
        except Exception:
            for notice in fresh:  # told next time instead of never
                self._sent.forget(notice.site, notice.key)
            raise
        return len(fresh)

    def _state(self, site: str, zone: str, now: datetime) -> SiteState:
        today = site_date(now, zone)
        # The boundary before the last: its digest has surely been written by now.
        boundary = interval_start(now) - DIGEST_INTERVAL
        digest = self._digests.read(site, boundary)
        if digest is None:
            problem = None if self._digests.read(site, boundary - DIGEST_INTERVAL) is not None else ""
        else:
            problem = str(digest["payload"].get("problem") or "")
        return SiteState(
            site=site,
            today=today,
            awaiting_approval=self._shares.of_site(site, ShareStatus.REQUESTED),
            open_requests=self._requests.of_site(
                site, RequestStatus.OPEN, due_before=(today + DUE_SOON + timedelta(days=1)).isoformat()
            ),
            due_for_review=self._cases.due_for_review(site, now),
            cameras=self._catalog.cameras_of_site(site),
            gateways=self._catalog.gateways_of_site(site),
            last_digest_problem=problem,
            last_boundary=boundary,
        )

    def _send(self, site: str, fresh: list[Notice]) -> None:
        subject, body = message(site, fresh)
        # Asked first: if the site's own subscribers are there, a failure here must not tell them twice.
        subscribed = self._topics.subscribed(site)
        _log_sent(site, "site", self._topics.publish(site, subject, body), subject, body)
        # A site configured since the template was deployed (its topic is new) or whose e-mail was left empty.
        if not subscribed:
            to_admins = for_admins(site, self._topics.topic_arn(site), body)
            _log_sent(site, "admins", self._topics.publish_to_admins(subject, to_admins), subject, to_admins)


@dataclass(frozen=True)
class NotifyReport:
    told: int
    failed_sites: tuple[str, ...]


def _log_sent(site: str, topic: str, message_id: str, subject: str, body: str) -> None:
    # Ids and times only: the notices may be logged (locally, this is where they can be read).
    logger.info(
        "notified", extra={"site": site, "topic": topic, "message_id": message_id, "subject": subject, "body": body}
    )


def _log_failure(site: str, error: Exception) -> None:
    # The exception's class, AWS's error code and where it was raised, not its text: that may quote a record
    # (a share's recipient or purpose in a validation error).
    code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else None
    where = [f"{Path(frame.filename).name}:{frame.lineno}" for frame in traceback.extract_tb(error.__traceback__)]
    logger.error(
        "notifying a site failed; its notices wait for the next run",
        extra={"site": site, "error": type(error).__name__, "code": code, "where": where[-4:]},
    )
    metrics.add_metric(name="NotificationFailures", unit="Count", value=1)
