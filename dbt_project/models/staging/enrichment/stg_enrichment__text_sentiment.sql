{#- Staging: enriched texts (ST-04) as written by the Python task before dbt, limited to texts dated on or
    before the run date. PII is redacted in Python before the row is written (ST-06, DQ-14). Before the task
    ever ran the source table is empty (created by the on-run-start hook create_source_tables()). -#}
select
    source_table,
    source_id,
    customer_id,
    text_ts,
    language,
    redacted_text,
    polarity,
    polarity_score,
    emotion_class,
    crisis_triage_class,
    has_risk_keyword,
    has_empathy_keyword,
    model_name,
    model_version,
    quality_gate_passed,
    enriched_for_date,
    policy_version as enrichment_policy_version
from {{ source('enrichment', 'text_sentiment') }}
where text_ts is null or text_ts < {{ run_end() }}

