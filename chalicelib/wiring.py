"""Adapters built lazily from the settings, once per process, so warm functions reuse clients.

Each getter imports its adapter or service itself: every function imports app.py (and this), and importing them
all here made each cold start pay for every model of the archive; a function now loads what its events use.
"""

from __future__ import annotations

import functools
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from chalicelib.auth import GatewayAuthenticator, OfficialTokenVerifier
    from chalicelib.config import Settings
    from chalicelib.handlers.audit_digest import DigestWriter
    from chalicelib.handlers.exports import ExportMaker
    from chalicelib.handlers.ingest import ClipIngest
    from chalicelib.handlers.notifications import Notifier
    from chalicelib.handlers.refusals import RefusalCounter, RefusalFolder
    from chalicelib.handlers.retention import RetentionSweep
    from chalicelib.services.audit_trail import AuditTrail
    from chalicelib.services.cases import Cases
    from chalicelib.services.footage import Footage, UrlPolicy
    from chalicelib.services.governance import Governance
    from chalicelib.services.intake import Intake
    from chalicelib.services.officials import Officials
    from chalicelib.services.redactions import Redactions
    from chalicelib.services.registry import Registry
    from chalicelib.services.shares import Shares
    from chalicelib.services.subject_access import SubjectAccess
    from chalicelib.store.audit import AuditLog
    from chalicelib.store.cases import CaseBook
    from chalicelib.store.catalog import Catalog
    from chalicelib.store.clips import ClipIndex
    from chalicelib.store.digests import AuditDigests
    from chalicelib.store.gaps import GapLog
    from chalicelib.store.objects import ClipObjects
    from chalicelib.store.officials import AccountStates, OfficialDirectory
    from chalicelib.store.queues import WorkQueue
    from chalicelib.store.refusals import RefusalCounts
    from chalicelib.store.sealing_keys import SealingKeys
    from chalicelib.store.shares import ShareBook
    from chalicelib.store.signing import AuditSigner
    from chalicelib.store.subject_requests import SubjectRequestBook


def now() -> datetime:
    return datetime.now(UTC)


def get_settings() -> Settings:
    from chalicelib import config  # a pydantic model: imported by a function's first event, not by import app

    return config.get_settings()


@functools.cache
def _dynamodb() -> Any:
    return boto3.resource("dynamodb", region_name=get_settings().region)


def _work_queue(url: str) -> WorkQueue:
    from chalicelib.store.queues import WorkQueue

    return WorkQueue(boto3.client("sqs", region_name=get_settings().region), url)


def _s3_client(settings: Settings) -> Any:
    # SigV4 is required for SSE-KMS objects; a regional endpoint keeps presigned PUTs from being redirected.
    # No SHA-256 of each body for its signature: botocore otherwise hashes every PUT that carries its own
    # checksum (a clip's plaintext: 15 MB more hashed per clip), which S3 then checks anyway. No check of
    # S3's checksum on each GET either: every read of footage is hashed by the archive itself, against the
    # SHA-256 registered (ClipObjects.download_footage, ingest), and botocore's check was a second pass.
    return boto3.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.s3_endpoint_url,
        config=Config(
            signature_version="s3v4",
            response_checksum_validation="when_required",
            s3={
                "addressing_style": "path" if settings.aws_endpoint_url else "virtual",
                "payload_signing_enabled": False,
            },
        ),
    )


@functools.cache
def clip_index() -> ClipIndex:
    from chalicelib.store.clips import ClipIndex

    return ClipIndex(_dynamodb().Table(get_settings().clips_table))


@functools.cache
def catalog() -> Catalog:
    from chalicelib.store.catalog import Catalog

    settings = get_settings()
    tables = _dynamodb()
    return Catalog(
        tables.Table(settings.sites_table),
        tables.Table(settings.cameras_table),
        tables.Table(settings.gateways_table),
    )


@functools.cache
def audit_log() -> AuditLog:
    from chalicelib.store.audit import AuditLog

    return AuditLog(_dynamodb().Table(get_settings().audit_table), lambda site: catalog().get_site(site) is not None)


@functools.cache
def clip_objects() -> ClipObjects:
    from chalicelib.store.objects import ClipObjects

    settings = get_settings()
    return ClipObjects(_s3_client(settings), settings.clips_bucket, settings.clips_key_arn)


@functools.cache
def official_verifier() -> OfficialTokenVerifier:
    from chalicelib.auth import OfficialTokenVerifier

    settings = get_settings()
    return OfficialTokenVerifier(settings.jwks_url, settings.token_issuer, settings.user_pool_client_id)


@functools.cache
def official_directory() -> OfficialDirectory:
    from chalicelib.store.officials import OfficialDirectory

    settings = get_settings()
    cognito = boto3.client("cognito-idp", region_name=settings.region)
    return OfficialDirectory(cognito, settings.user_pool_id)


@functools.cache
def account_states() -> AccountStates:
    from chalicelib.store.officials import AccountStates

    return AccountStates(official_directory(), get_settings().account_check_seconds)


@functools.cache
def officials() -> Officials:
    from chalicelib.services.officials import Officials

    return Officials(official_directory(), audit_log())


@functools.cache
def gateway_authenticator() -> GatewayAuthenticator:
    from chalicelib.auth import GatewayAuthenticator

    return GatewayAuthenticator(catalog())


@functools.cache
def intake() -> Intake:
    from chalicelib.domain.clips import RegistrationLimits, UploadUrlPolicy
    from chalicelib.services.intake import Intake

    settings = get_settings()
    limits = RegistrationLimits(
        clock_skew=timedelta(seconds=settings.clock_skew_seconds),
        max_duration=timedelta(seconds=settings.max_clip_seconds),
        max_bytes=settings.max_clip_bytes,
    )
    urls = UploadUrlPolicy(
        start_within=timedelta(seconds=settings.upload_start_seconds),
        min_bytes_per_s=settings.upload_min_bytes_per_second,
        maximum=timedelta(seconds=settings.upload_url_seconds),
    )
    return Intake(catalog(), clip_index(), clip_objects(), limits, urls, gap_log(), audit_log())


@functools.cache
def url_policy() -> UrlPolicy:
    from chalicelib.services.footage import UrlPolicy

    settings = get_settings()
    return UrlPolicy(
        default=timedelta(seconds=settings.view_url_seconds),
        maximum=timedelta(seconds=settings.max_view_url_seconds),
    )


@functools.cache
def footage() -> Footage:
    from chalicelib.services.footage import Footage

    silent_after = timedelta(seconds=get_settings().camera_silent_seconds)
    return Footage(
        catalog(), clip_index(), clip_objects(), audit_log(), url_policy(), gap_log(), case_book(), silent_after
    )


@functools.cache
def gap_log() -> GapLog:
    from chalicelib.store.gaps import GapLog

    return GapLog(_dynamodb().Table(get_settings().gaps_table))


@functools.cache
def sealing_keys() -> SealingKeys:
    from chalicelib.store.sealing_keys import SealingKeys

    settings = get_settings()
    secrets = boto3.client("secretsmanager", region_name=settings.region)
    return SealingKeys(
        secrets, settings.sealing_keys_prefix, settings.clips_key_arn, cache_s=settings.sealing_key_cache_seconds
    )


@functools.cache
def registry() -> Registry:
    from chalicelib.services.registry import Registry

    settings = get_settings()
    silent_after = timedelta(seconds=settings.camera_silent_seconds)
    clock_skew = timedelta(seconds=settings.clock_skew_seconds)
    return Registry(catalog(), audit_log(), silent_after, clock_skew, sealing_keys(), audit_digests())


@functools.cache
def governance() -> Governance:
    from chalicelib.services.governance import Governance

    return Governance(catalog(), clip_index(), clip_objects(), audit_log())


@functools.cache
def case_book() -> CaseBook:
    from chalicelib.store.cases import CaseBook

    return CaseBook(_dynamodb().Table(get_settings().cases_table))


@functools.cache
def share_book() -> ShareBook:
    from chalicelib.store.shares import ShareBook

    return ShareBook(_dynamodb().Table(get_settings().shares_table))


@functools.cache
def cases() -> Cases:
    from chalicelib.services.cases import Cases

    return Cases(case_book(), catalog(), clip_index(), clip_objects(), audit_log(), share_book())


@functools.cache
def shares() -> Shares:
    from chalicelib.services.shares import Shares

    return Shares(
        share_book(),
        case_book(),
        clip_index(),
        clip_objects(),
        audit_log(),
        url_policy(),
        redactions(),
        subject_request_book(),
        exports_queue(),
    )


@functools.cache
def audit_digests() -> AuditDigests:
    from chalicelib.store.digests import AuditDigests

    settings = get_settings()
    return AuditDigests(_s3_client(settings), settings.audit_digest_bucket)


@functools.cache
def audit_signer() -> AuditSigner:
    from chalicelib.store.signing import AuditSigner

    settings = get_settings()
    return AuditSigner(boto3.client("kms", region_name=settings.region), settings.audit_signing_key_arn)


@functools.cache
def audit_trail() -> AuditTrail:
    from chalicelib.services.audit_trail import AuditTrail

    return AuditTrail(audit_log(), audit_digests(), audit_signer(), catalog())


@functools.cache
def digest_writer() -> DigestWriter:
    from chalicelib.handlers.audit_digest import DigestWriter

    return DigestWriter(audit_log(), audit_digests(), audit_signer(), catalog())


@functools.cache
def refusal_counts() -> RefusalCounts:
    from chalicelib.store.refusals import RefusalCounts

    return RefusalCounts(_dynamodb().Table(get_settings().audit_refusals_table))


@functools.cache
def refusal_counter() -> RefusalCounter:
    from chalicelib.handlers.refusals import RefusalCounter

    return RefusalCounter(refusal_counts())


@functools.cache
def refusal_folder() -> RefusalFolder:
    from chalicelib.handlers.refusals import RefusalFolder

    return RefusalFolder(refusal_counts(), audit_log())


@functools.cache
def clip_ingest() -> ClipIngest:
    from chalicelib.handlers.ingest import ClipIngest
    from chalicelib.media.video import MediaLimits

    settings = get_settings()
    return ClipIngest(
        clip_index(),
        clip_objects(),
        catalog(),
        audit_log(),
        MediaLimits(max_duration_s=float(settings.max_clip_seconds) * 1.5),
        settings.duration_tolerance_seconds,
        Path(tempfile.gettempdir()),
        sealing_keys(),
    )


@functools.cache
def retention_sweep() -> RetentionSweep:
    from chalicelib.handlers.retention import RetentionSweep

    queue = _work_queue(get_settings().retention_queue_url)
    return RetentionSweep(clip_index(), clip_objects(), audit_log(), catalog(), subject_request_book(), queue)


@functools.cache
def subject_request_book() -> SubjectRequestBook:
    from chalicelib.store.subject_requests import SubjectRequestBook

    return SubjectRequestBook(_dynamodb().Table(get_settings().subject_requests_table))


@functools.cache
def exports_queue() -> WorkQueue:
    """The masked exports' queue: subject access exports and redacted shares' exports."""
    return _work_queue(get_settings().exports_queue_url)


@functools.cache
def subject_access() -> SubjectAccess:
    from chalicelib.services.subject_access import SubjectAccess

    book, urls = subject_request_book(), url_policy()
    return SubjectAccess(book, catalog(), clip_index(), clip_objects(), audit_log(), exports_queue(), urls.default)


@functools.cache
def redactions() -> Redactions:
    from chalicelib.services.redactions import Redactions

    queue = _work_queue(get_settings().redactions_queue_url)
    return Redactions(subject_request_book(), clip_index(), clip_objects(), audit_log(), queue, url_policy().default)


@functools.cache
def export_maker() -> ExportMaker:
    from chalicelib.handlers.exports import ExportMaker

    settings = get_settings()
    return ExportMaker(
        subject_request_book(),
        clip_index(),
        clip_objects(),
        timedelta(days=settings.export_days),
        Path(tempfile.gettempdir()),
    )


@functools.cache
def notifier() -> Notifier:
    from chalicelib.handlers.notifications import Notifier
    from chalicelib.store.notifications import SentNotices, SiteTopics

    settings = get_settings()
    return Notifier(
        catalog(),
        share_book(),
        subject_request_book(),
        case_book(),
        audit_digests(),
        SentNotices(_dynamodb().Table(settings.notifications_table)),
        SiteTopics(boto3.client("sns", region_name=settings.region), settings.notifications_topic_arn_prefix),
        timedelta(seconds=settings.camera_silent_seconds),
    )
