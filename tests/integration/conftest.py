"""Integration tests: the product's adapters and handlers against moto in process (`mock_aws`),
with the resources deployed from infra/template.yaml by the same code the local stack uses."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from moto import mock_aws

from chalicelib import config, wiring
from chalicelib.domain.catalog import Site
from local.aws import CREDENTIALS, REGION, AwsEndpoint
from local.deploy import DeployedStack, deploy
from local.moto_server import keep_s3_checksums


def _clear_wiring_caches() -> None:
    config.get_settings.cache_clear()
    for value in vars(wiring).values():
        if isinstance(value, functools._lru_cache_wrapper):
            value.cache_clear()


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeployedStack]:
    """A fresh deployment per test; the functions' environment set as Lambda would set it."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    keep_s3_checksums()  # as real S3 (and the local stack's moto) does
    with mock_aws():
        stack = deploy(AwsEndpoint(None), "safe-society-test", "test")
        for name, value in stack.environment.items():
            monkeypatch.setenv(name, value)
        _clear_wiring_caches()
        yield stack
        _clear_wiring_caches()


TEST_SITE = Site(
    site_id="aizkraukle",
    name="Aizkraukle",
    country="LV",
    timezone="Europe/Riga",
    retention_days=7,
    max_retention_days=30,
    legal_basis="test",
    controller="test",
    dpo_contact="dpo@example.org",
)
