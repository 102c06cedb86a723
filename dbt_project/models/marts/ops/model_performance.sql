{{ config(materialized='table', tags=['alerts']) }}
{#- Model over time (CH-07, AL-14): one row per model version x matured cutoff, as evaluated by the
    backtest step, with the AL-14 checks against the policy: ROC AUC below model_min_auc (the same
    parameter as the promotion gate's floor) or a fall below the version's own out-of-time test AUC of
    more than model_max_auc_drop. The alert rows themselves come from int_alerts__metrics (AL-14). -#}
with params as (
    select
        {{ policy_param('model_min_auc') }} as min_auc,
        {{ policy_param('model_max_auc_drop') }} as max_auc_drop
)

select
    b.model_name,
    b.model_version,
    b.as_of_date,
    b.label_matured_on,
    b.evaluated_on,
    b.rows_evaluated,
    b.churned,
    b.roc_auc,
    b.pr_auc,
    b.ece,
    b.lift_at_capacity,
    b.capture_at_capacity,
    b.positive_rate,
    b.capacity_rows,
    b.reference_roc_auc,
    (b.reference_roc_auc - b.roc_auc) as roc_auc_drop,
    p.min_auc::double precision as model_min_auc,
    p.max_auc_drop::double precision as model_max_auc_drop,
    coalesce(b.roc_auc < p.min_auc, false) as below_min_auc,
    coalesce(b.reference_roc_auc - b.roc_auc > p.max_auc_drop, false) as auc_drop_exceeded,
    b.mlflow_run_id,
    {{ run_date() }} as run_date,
    {{ policy_version() }} as policy_version
from {{ ref('stg_scoring__model_performance') }} as b
cross join params as p
