"""The scheduled notification job: for each site, what needs its DPO and admins, sent once to its SNS topic."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.audit_chain import DIGEST_INTERVAL, interval_start
from chalicelib.domain.notifications import DUE_SOON, Notice, SiteState, message, notices
from chalicelib.domain.shares import ShareStatus
from chalicelib.domain.subject_requests import RequestStatus
from chalicelib.domain.timeutil import site_date
from chalicelib.observability import logger
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

    def run(self, now: datetime) -> int:
        """Tell every site what is new for it; how many notices were sent."""
        told = 0
        for site in self._catalog.sites(self._catalog.site_ids()):
            fresh = [
                n
                for n in notices(self._state(site.site_id, site.timezone, now), now, self._silent_after)
                if self._sent.first_time(n.site, n.key, now)
            ]
            if fresh:
                told += self._send(site.site_id, fresh)
        return told

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

    def _send(self, site: str, fresh: list[Notice]) -> int:
        subject, body = message(site, fresh)
        try:
            message_id = self._topics.publish(site, subject, body)
        except Exception:
            for notice in fresh:  # told next time instead of never
                self._sent.forget(notice.site, notice.key)
            raise
        # Ids and times only: the notices may be logged (locally, this is where they can be read).
        logger.info("notified", extra={"site": site, "message_id": message_id, "subject": subject, "body": body})
        return len(fresh)
