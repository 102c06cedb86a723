-- depends_on: {{ source('scoring', 'model_performance') }}
{#- Staging: backtests (CH-07, AL-14) evaluated on or before var('run_date'), as written by
    `crm model backtest`. The scoring step creates the source table on first use; until then (a fresh
    warehouse) this view is empty with the same columns, so the marts build before any backtest ran. -#}
{%- set relation = adapter.get_relation(database=target.database, schema='scoring', identifier='model_performance') if execute else none %}
{%- if relation is none %}
select
    null::text as model_name,
    null::text as model_version,
    null::date as as_of_date,
    null::date as label_matured_on,
    null::date as evaluated_on,
    null::integer as rows_evaluated,
    null::integer as churned,
    null::double precision as roc_auc,
    null::double precision as pr_auc,
    null::double precision as ece,
    null::double precision as lift_at_capacity,
    null::double precision as capture_at_capacity,
    null::double precision as positive_rate,
    null::integer as capacity_rows,
    null::double precision as reference_roc_auc,
    null::text as mlflow_run_id
where false
{%- else %}
select
    model_name,
    model_version,
    as_of_date,
    label_matured_on,
    evaluated_on,
    rows_evaluated,
    churned,
    roc_auc,
    pr_auc,
    ece,
    lift_at_capacity,
    capture_at_capacity,
    positive_rate,
    capacity_rows,
    reference_roc_auc,
    mlflow_run_id
from {{ source('scoring', 'model_performance') }}
where evaluated_on <= {{ run_date() }}
{%- endif %}
