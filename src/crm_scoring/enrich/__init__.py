"""Text enrichment before dbt (ST-04, ST-06): sentiment, emotion, crisis triage, keyword flags, redaction.

Entry point for the DAG: `enrich_texts(url, run_date)`; it writes `enrichment.text_sentiment`,
`enrichment.model_quality` and `enrichment.quality_alerts`. Imported lazily so DAG parsing stays cheap.

Modules, by role (the nightly path imports only the first group; dbt_project/docs/text_enrichment.md
has the figures behind every choice):
- nightly path: `task` (the task), `store` (its SQL), `model` (the `SentimentModel` interface and the
  shipped `vader_tfidf_logit`), `corpora` (its human-labelled training sets), `emotion` (bands, emotion,
  triage), `keywords`, `policy`, `redact`, and `evaluate` (the DQ-06 gate and the quality report);
- measured candidates that are not shipped, kept so `python -m crm_scoring.enrich.evaluate --candidates`
  reprints their figures: `minilm`, `e5` (encoders), `embeddings` (their vector cache), `cascade`,
  `finetune` (needs torch, optional), `distill`, and `selection` (the validation fold every candidate
  was chosen on, never a report set).
"""

from __future__ import annotations

from datetime import date


def enrich_texts(url: str, run_date: date) -> dict:
    """See crm_scoring.enrich.task.enrich_texts."""
    from crm_scoring.enrich.task import enrich_texts as run

    return run(url, run_date)


__all__ = ["enrich_texts"]
