{#- Staging: backtests (CH-07, AL-14) evaluated on or before var('run_date'), as written by
    `crm model backtest`. Before any backtest ran the source is empty (created by the on-run-start hook
    create_source_tables()), so the marts build on a fresh warehouse. -#}
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
