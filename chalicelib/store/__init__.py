"""Adapters: every boto3 call lives here; each takes its client or table in the constructor."""
