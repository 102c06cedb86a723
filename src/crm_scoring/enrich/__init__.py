"""Text enrichment before dbt (ST-04, ST-06): sentiment, emotion, crisis triage, keyword flags, redaction.

Entry point for the DAG: `enrich_texts(url, run_date)`; it writes `enrichment.text_sentiment`,
`enrichment.model_quality` and `enrichment.quality_alerts`. Imported lazily so DAG parsing stays cheap.
"""

from __future__ import annotations

from datetime import date


def enrich_texts(url: str, run_date: date) -> dict:
    """See crm_scoring.enrich.task.enrich_texts."""
    from crm_scoring.enrich.task import enrich_texts as run

    return run(url, run_date)


__all__ = ["enrich_texts"]
