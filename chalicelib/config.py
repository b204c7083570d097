"""One validated Settings object, read from the environment once."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from chalicelib.domain.text import Statement
from chalicelib.model import Model

# Footage of EU residents stays in the EU/EEA (DESIGN.md "Data residency"): these regions are in member states.
EU_REGIONS = frozenset({"eu-north-1", "eu-west-1", "eu-west-3", "eu-central-1", "eu-south-1", "eu-south-2"})
# Named "eu-" but outside the EU: a transfer (GDPR Art. 45) that needs the Commission's adequacy decision for the
# country, so they are allowed only when the deployment's configuration names that decision.
ADEQUACY_REGIONS = {"eu-west-2": "the United Kingdom", "eu-central-2": "Switzerland"}


class ConfigurationError(RuntimeError):
    """The environment does not describe a usable deployment."""


class Settings(Model):
    """Everything the functions need to know about their deployment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    clips_bucket: str = Field(min_length=3)
    clips_key_arn: str = Field(min_length=1, description="the customer-managed KMS key clips are sealed with")
    clips_table: str = Field(min_length=1)
    sites_table: str = Field(min_length=1)
    cameras_table: str = Field(min_length=1)
    gateways_table: str = Field(min_length=1)
    audit_table: str = Field(min_length=1)
    audit_digest_bucket: str = Field(min_length=3)
    audit_refusals_table: str = Field(min_length=1, description="anonymous refusals counted per source")
    audit_signing_key_arn: str = Field(min_length=1, description="the asymmetric KMS key audit digests are signed with")
    cases_table: str = Field(min_length=1)
    shares_table: str = Field(min_length=1)
    subject_requests_table: str = Field(min_length=1)
    exports_queue_url: str = Field(min_length=1)
    redactions_queue_url: str = Field(min_length=1, description="the redaction function's queue")
    retention_queue_url: str = Field(min_length=1, description="each site's retention sweep, a message each")
    gaps_table: str = Field(min_length=1)
    notifications_table: str = Field(min_length=1, description="which notices were told, so each is told once")
    notifications_topic_arn_prefix: str = Field(
        min_length=1, description="each site's SNS topic is this ARN followed by -{site}"
    )
    sealing_keys_prefix: str = Field(min_length=1, description="the sites' age identities are secrets under this name")
    sealing_key_cache_seconds: int = Field(
        default=3600,
        ge=0,
        le=86400,
        description="how long ingest reuses a site's keys before listing its secrets again (a key added since is "
        "read at the first clip that opens with none of the cached ones)",
    )
    export_days: int = Field(default=7, ge=1, le=30, description="how long a subject access export is kept")
    user_pool_id: str = Field(min_length=1)
    user_pool_client_id: str = Field(min_length=1)
    jwks_url: str = ""
    token_issuer: str = ""
    view_url_seconds: int = Field(default=300, ge=30, le=900)
    max_view_url_seconds: int = Field(default=900, ge=30, le=900)
    clock_skew_seconds: int = Field(default=300, ge=0, le=3600)
    max_clip_seconds: int = Field(default=3600, ge=1, le=6 * 3600)
    max_clip_bytes: int = Field(default=1 << 30, ge=1, le=5 * (1 << 30))
    duration_tolerance_seconds: float = Field(default=2.0, ge=0)
    upload_url_seconds: int = Field(default=900, ge=60, le=3600, description="the longest an upload URL lives")
    upload_start_seconds: int = Field(
        default=120, ge=10, le=900, description="how soon after its URL is issued an upload begins"
    )
    upload_min_bytes_per_second: int = Field(
        default=125_000, ge=1000, description="the slowest uplink planned for (1 Mbit/s): later parts start later"
    )
    account_check_seconds: float = Field(
        default=60,
        ge=0,
        le=60,
        description="how long the pool's word on an account is trusted: a disabled official is refused within this",
    )
    camera_silent_seconds: int = Field(default=600, ge=30, description="no segment or clip for this long: silent")
    aws_endpoint_url: str = Field(default="", description="the embedded AWS, when running locally")
    adequacy_decision: Statement = Field(
        default="",
        max_length=300,
        validate_default=True,
        description="for eu-west-2 or eu-central-2 only: the adequacy decision the transfer rests on, as cited",
    )

    @field_validator("region")
    @classmethod
    def _region_in_eu(cls, region: str) -> str:
        if region not in EU_REGIONS and region not in ADEQUACY_REGIONS:
            raise ValueError(f"region {region!r} is outside the EU; footage must stay in an EU region")
        return region

    @field_validator("adequacy_decision")
    @classmethod
    def _transfer_on_record(cls, decision: str, info: ValidationInfo) -> str:
        region = info.data.get("region")
        if region in ADEQUACY_REGIONS and not decision:
            raise ValueError(
                f"region {region!r} is in {ADEQUACY_REGIONS[region]}, outside the EU: name the Commission's "
                "adequacy decision the transfer rests on"
            )
        if region in EU_REGIONS and decision:
            raise ValueError(f"only for a region outside the EU, not {region!r}")
        return decision

    @model_validator(mode="after")
    def _default_url_within_maximum(self) -> Settings:
        if self.view_url_seconds > self.max_view_url_seconds:
            raise ValueError("view_url_seconds must not exceed max_view_url_seconds")
        return self

    @model_validator(mode="after")
    def _cognito_urls(self) -> Settings:
        # Real Cognito serves its keys under the issuer; the local one does not, hence two settings.
        issuer = self.token_issuer or f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"
        jwks = self.jwks_url or f"{issuer}/.well-known/jwks.json"
        object.__setattr__(self, "token_issuer", issuer)
        object.__setattr__(self, "jwks_url", jwks)
        return self

    @property
    def s3_endpoint_url(self) -> str:
        return self.aws_endpoint_url or f"https://s3.{self.region}.amazonaws.com"

    @property
    def media_origin(self) -> str:
        """Where signed clip and thumbnail URLs point (virtual-hosted on AWS, path-style locally)."""
        return self.aws_endpoint_url or f"https://{self.clips_bucket}.s3.{self.region}.amazonaws.com"

    @property
    def cognito_endpoint(self) -> str:
        """Where officials' browsers log in (the console calls Cognito's API itself)."""
        return self.aws_endpoint_url or f"https://cognito-idp.{self.region}.amazonaws.com"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read SAFE_* variables (and AWS_REGION); fail with every problem named."""
        values: dict[str, str] = {
            name.removeprefix("SAFE_").lower(): value
            for name, value in environ.items()
            if name.startswith("SAFE_") and value != ""
        }
        values.setdefault("region", environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION", ""))
        values.setdefault("aws_endpoint_url", environ.get("AWS_ENDPOINT_URL", ""))
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"SAFE_{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigurationError(f"invalid configuration: {problems}") from exc


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read on first use (never at import, so tests and packaging need none)."""
    return Settings.from_environ(os.environ)
