{#- Staging: enriched texts (ST-04) as written by the Python task before dbt, limited to texts dated on or
    before the run date. PII is redacted in Python before the row is written (ST-06, DQ-14). When the task
    has never run (a warehouse without the enrichment schema), the view is empty but typed, so the rest of
    the project still builds. -#}
{%- set src = adapter.get_relation(database=target.database, schema='enrichment', identifier='text_sentiment') -%}
{%- if src is not none %}
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
{%- else %}
select
    null::text as source_table,
    null::text as source_id,
    null::text as customer_id,
    null::timestamptz as text_ts,
    null::text as language,
    null::text as redacted_text,
    null::text as polarity,
    null::double precision as polarity_score,
    null::text as emotion_class,
    null::text as crisis_triage_class,
    null::boolean as has_risk_keyword,
    null::boolean as has_empathy_keyword,
    null::text as model_name,
    null::text as model_version,
    null::boolean as quality_gate_passed,
    null::date as enriched_for_date,
    null::text as enrichment_policy_version
where false
{%- endif %}
