"""Deterministic demo landing-data generator (`crm demo-data`).

Writes one landing folder per export date in the format of the landing contract, with real
structure (long-tailed spend, complaint-driven churn, crisis events) so that every downstream
rule and the churn model have something to find. See `generator.generate`.
"""

from crm_scoring.demo.generator import generate

__all__ = ["generate"]
