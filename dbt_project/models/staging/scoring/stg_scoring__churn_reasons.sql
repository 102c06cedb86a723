{{ config(tags=["lists"]) }}
{#- Staging: reason codes of the churn scores (CH-06), runs up to var('run_date'). The scoring step
    creates scoring.churn_reasons; until it exists this adapter returns no rows (lists then carry no
    reason codes), so the lists never fail for a missing explanation table. -#}
{%- set src = source('scoring', 'churn_reasons') -%}
{%- set rel = none -%}
{%- if execute -%}
    {%- set rel = adapter.get_relation(database=src.database, schema=src.schema, identifier=src.identifier) -%}
{%- endif %}
{%- if rel is not none %}
select
    run_date,
    customer_id,
    reason_rank::integer as reason_rank,
    feature::text as feature,
    contribution::double precision as contribution,
    reason_text::text as reason_text
from {{ src }}
where run_date <= {{ run_date() }}
{%- else %}
select null::date as run_date, null::text as customer_id, null::integer as reason_rank,
       null::text as feature, null::double precision as contribution, null::text as reason_text
where false
{%- endif %}
