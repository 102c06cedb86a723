"""Nightly CRM scoring platform: ingest, marts, churn scores and target lists."""

__version__ = "0.1.0"
