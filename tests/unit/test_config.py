"""Settings read once from the environment, refused with every problem named (chalicelib.config)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.config import ConfigurationError, Settings

ENVIRON = {
    "AWS_REGION": "eu-north-1",
    "SAFE_CLIPS_BUCKET": "safe-clips",
    "SAFE_CLIPS_KEY_ARN": "arn:aws:kms:eu-north-1:123456789012:key/clips",
    "SAFE_CLIPS_TABLE": "safe-clips",
    "SAFE_SITES_TABLE": "safe-sites",
    "SAFE_CAMERAS_TABLE": "safe-cameras",
    "SAFE_GATEWAYS_TABLE": "safe-gateways",
    "SAFE_AUDIT_TABLE": "safe-audit",
    "SAFE_AUDIT_DIGEST_BUCKET": "safe-audit-digests",
    "SAFE_AUDIT_REFUSALS_TABLE": "safe-audit-refusals",
    "SAFE_AUDIT_SIGNING_KEY_ARN": "arn:aws:kms:eu-north-1:123456789012:key/audit",
    "SAFE_CASES_TABLE": "safe-cases",
    "SAFE_SHARES_TABLE": "safe-shares",
    "SAFE_SUBJECT_REQUESTS_TABLE": "safe-subject-requests",
    "SAFE_EXPORTS_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/exports",
    "SAFE_REDACTIONS_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/redactions",
    "SAFE_RETENTION_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/retention",
    "SAFE_SEALING_KEYS_PREFIX": "safe-society/test/sealing-keys",
    "SAFE_GAPS_TABLE": "safe-gaps",
    "SAFE_NOTIFICATIONS_TABLE": "safe-notifications",
    "SAFE_NOTIFICATIONS_TOPIC_ARN_PREFIX": "arn:aws:sns:eu-north-1:123456789012:safe-society-test-notify",
    "SAFE_USER_POOL_ID": "eu-north-1_Example",
    "SAFE_USER_POOL_CLIENT_ID": "5example0client0id",
}


def environ(**changes: Any) -> dict[str, str]:
    """The complete environment with changes; None removes a variable."""
    merged = ENVIRON | changes
    return {name: value for name, value in merged.items() if value is not None}


def test_complete_environment_read() -> None:
    settings = Settings.from_environ(ENVIRON)
    assert (settings.region, settings.clips_table, settings.view_url_seconds) == ("eu-north-1", "safe-clips", 300)


@pytest.mark.parametrize("region", ["us-east-1", "eu-north-2", "il-central-1", "me-central-1"])
def test_region_outside_eu_refused(region: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"SAFE_REGION: .*'{region}' is outside the EU"):
        Settings.from_environ(environ(AWS_REGION=region))


def test_default_region_used_without_aws_region() -> None:
    settings = Settings.from_environ(environ(AWS_REGION=None, AWS_DEFAULT_REGION="eu-central-1"))
    assert settings.region == "eu-central-1"


def test_missing_region_refused() -> None:
    with pytest.raises(ConfigurationError, match="outside the EU"):
        Settings.from_environ(environ(AWS_REGION=None))


def test_missing_table_named_in_error() -> None:
    with pytest.raises(ConfigurationError, match="SAFE_AUDIT_TABLE: Field required"):
        Settings.from_environ(environ(SAFE_AUDIT_TABLE=None))


def test_empty_table_name_treated_as_missing() -> None:
    with pytest.raises(ConfigurationError, match="SAFE_CLIPS_TABLE: Field required"):
        Settings.from_environ(environ(SAFE_CLIPS_TABLE=""))


def test_every_problem_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_environ(environ(AWS_REGION="us-east-1", SAFE_SITES_TABLE=None, SAFE_GATEWAYS_TABLE=None))
    assert all(name in str(error.value) for name in ("SAFE_REGION", "SAFE_SITES_TABLE", "SAFE_GATEWAYS_TABLE"))


def test_unknown_safe_variable_refused() -> None:
    with pytest.raises(ConfigurationError, match="SAFE_CLIP_TABLE"):
        Settings.from_environ(environ(SAFE_CLIP_TABLE="typo"))


def test_cognito_urls_derived_from_region_and_pool() -> None:
    settings = Settings.from_environ(ENVIRON)
    assert settings.token_issuer == "https://cognito-idp.eu-north-1.amazonaws.com/eu-north-1_Example"
    assert settings.jwks_url == settings.token_issuer + "/.well-known/jwks.json"


def test_jwks_url_derived_from_issuer_when_only_issuer_set() -> None:
    settings = Settings.from_environ(environ(SAFE_TOKEN_ISSUER="http://localhost:9229/eu-north-1_Example"))
    assert settings.jwks_url == "http://localhost:9229/eu-north-1_Example/.well-known/jwks.json"


def test_cognito_urls_kept_when_set() -> None:
    settings = Settings.from_environ(
        environ(SAFE_TOKEN_ISSUER="http://localhost:9229/pool", SAFE_JWKS_URL="http://localhost:5000/jwks.json")
    )
    assert (settings.token_issuer, settings.jwks_url) == (
        "http://localhost:9229/pool",
        "http://localhost:5000/jwks.json",
    )


@pytest.mark.parametrize("seconds", ["901", "3600"])
def test_view_url_over_fifteen_minutes_refused(seconds: str) -> None:
    with pytest.raises(ConfigurationError, match="SAFE_VIEW_URL_SECONDS"):
        Settings.from_environ(environ(SAFE_VIEW_URL_SECONDS=seconds))


def test_view_url_of_fifteen_minutes_accepted() -> None:
    assert Settings.from_environ(environ(SAFE_VIEW_URL_SECONDS="900")).view_url_seconds == 900


def test_default_view_url_longer_than_maximum_refused() -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_environ(environ(SAFE_VIEW_URL_SECONDS="600", SAFE_MAX_VIEW_URL_SECONDS="300"))


def test_settings_are_frozen() -> None:
    settings = Settings.from_environ(ENVIRON)
    with pytest.raises(ValueError, match="frozen"):
        settings.region = "us-east-1"  # type: ignore[misc]


@pytest.mark.parametrize("region", ["eu-north-1", "eu-west-1", "eu-west-3", "eu-central-1", "eu-south-1", "eu-south-2"])
def test_eu_regions_need_no_transfer_basis(region: str) -> None:
    assert Settings.from_environ(environ(AWS_REGION=region)).region == region


@pytest.mark.parametrize(("region", "country"), [("eu-west-2", "United Kingdom"), ("eu-central-2", "Switzerland")])
def test_regions_named_eu_but_outside_it_are_refused_without_an_adequacy_decision(region: str, country: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"SAFE_ADEQUACY_DECISION: .*{region}.*{country}, outside the EU"):
        Settings.from_environ(environ(AWS_REGION=region))


@pytest.mark.parametrize(
    ("region", "decision"),
    [
        ("eu-west-2", "Commission Implementing Decision (EU) 2021/1772 (United Kingdom)"),
        ("eu-central-2", "Commission Decision 2000/518/EC (Switzerland)"),
    ],
)
def test_regions_outside_the_eu_are_allowed_by_naming_the_adequacy_decision(region: str, decision: str) -> None:
    settings = Settings.from_environ(environ(AWS_REGION=region, SAFE_ADEQUACY_DECISION=decision))
    assert (settings.region, settings.adequacy_decision) == (region, decision)


def test_an_adequacy_decision_that_says_nothing_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="SAFE_ADEQUACY_DECISION: .*must say something"):
        Settings.from_environ(environ(AWS_REGION="eu-west-2", SAFE_ADEQUACY_DECISION="."))


def test_an_adequacy_decision_is_refused_for_an_eu_region() -> None:
    with pytest.raises(ConfigurationError, match="SAFE_ADEQUACY_DECISION: .*only for a region outside the EU"):
        Settings.from_environ(environ(SAFE_ADEQUACY_DECISION="Commission Decision 2000/518/EC"))


def test_no_adequacy_decision_opens_a_region_outside_europe() -> None:
    with pytest.raises(ConfigurationError, match="SAFE_REGION: .*outside the EU"):
        Settings.from_environ(environ(AWS_REGION="us-east-1", SAFE_ADEQUACY_DECISION="Commission Decision 2000/518/EC"))
