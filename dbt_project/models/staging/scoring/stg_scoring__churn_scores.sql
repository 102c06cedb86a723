{{ config(tags=["lists"]) }}
{#- Staging: churn scores of runs up to var('run_date'). Lists pick the run_date's rows.
    clv_estimate (CV-06) is written by the scoring step since it computes CLV; a scores table created
    by an earlier release gains the column on its next scoring run, and reads as null until then. -#}
{%- set relation = adapter.get_relation(database=target.database, schema='scoring', identifier='churn_scores') if execute else none %}
{%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list if relation is not none else [] %}
select
    run_date,
    customer_id,
    churn_probability::double precision as churn_probability,
    model_name,
    model_version,
    mlflow_run_id,
    scored_at,
    {% if 'clv_estimate' in columns or not execute -%}
    clv_estimate::double precision as clv_estimate
    {%- else -%}
    null::double precision as clv_estimate
    {%- endif %}
from {{ source('scoring', 'churn_scores') }}
where run_date <= {{ run_date() }}
