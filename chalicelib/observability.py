"""Powertools Logger, Metrics and Tracer, set up once for every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "safe-society-archive"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="SafeSociety", service=SERVICE)
tracer = Tracer(service=SERVICE)
