{{ config(tags=["training"]) }}
{#- Training snapshot dates (CH-02): every churn_snapshot_interval_days, churn_snapshot_count of them,
    going back from the latest cutoff whose label window is complete (cutoff + horizon <= run_date). -#}
with params as (
    select
        {{ policy_param('churn_label_horizon_days', 'integer') }} as horizon_days,
        {{ policy_param('churn_snapshot_interval_days', 'integer') }} as interval_days,
        {{ policy_param('churn_snapshot_count', 'integer') }} as snapshot_count
)

select
    ({{ run_date() }} - p.horizon_days - k * p.interval_days)::date as as_of_date,
    k as snapshot_index
from params as p
cross join lateral generate_series(0, p.snapshot_count - 1) as k
