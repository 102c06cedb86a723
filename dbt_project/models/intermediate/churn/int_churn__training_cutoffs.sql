{{ config(tags=["training"]) }}
{#- Training snapshot dates (CH-02), going back from the latest cutoff whose label window is complete
    (cutoff + horizon <= run_date):
    - monthly (default): every churn_snapshot_interval_days, churn_snapshot_count of them;
    - dense: when the labelled history (latest cutoff - first activity day in the warehouse) is shorter
      than churn_snapshot_dense_below_history_days, every churn_snapshot_dense_interval_days instead, back
      to the first activity day, at most churn_snapshot_dense_count of them. Why: with a few months of
      history, monthly cutoffs leave the model a handful of snapshots (e.g. 3 on a 5-month log), too few
      rows to learn more than a logistic regression does; weekly cutoffs give ~4x the labelled rows of the
      same period. The cap bounds the training set (and CI time) on longer short histories.
    Unset dense parameters (strict policy profile) = monthly only. -#}
with params as (
    select
        {{ policy_param('churn_label_horizon_days', 'integer') }} as horizon_days,
        {{ policy_param('churn_snapshot_interval_days', 'integer') }} as interval_days,
        {{ policy_param('churn_snapshot_count', 'integer') }} as snapshot_count,
        {{ policy_param('churn_snapshot_dense_interval_days', 'integer') }} as dense_interval_days,
        {{ policy_param('churn_snapshot_dense_below_history_days', 'integer') }} as dense_below_days,
        {{ policy_param('churn_snapshot_dense_count', 'integer') }} as dense_count
),

history as (
    select min(activity_date) as first_activity_date from {{ ref('int_activity__customer_days') }}
),

schedule as (
    select
        ({{ run_date() }} - p.horizon_days)::date as latest_cutoff,
        h.first_activity_date,
        coalesce(
            p.dense_interval_days is not null
            and p.dense_count is not null
            and h.first_activity_date is not null
            and ({{ run_date() }} - p.horizon_days)::date - h.first_activity_date < p.dense_below_days,
            false
        ) as dense,
        p.interval_days,
        p.snapshot_count,
        p.dense_interval_days,
        p.dense_count
    from params as p
    cross join history as h
)

select
    (s.latest_cutoff - k * s.interval_days)::date as as_of_date,
    k as snapshot_index,
    'monthly' as cadence
from schedule as s
cross join lateral generate_series(0, s.snapshot_count - 1) as k
where not s.dense

union all

select
    (s.latest_cutoff - k * s.dense_interval_days)::date as as_of_date,
    k as snapshot_index,
    'dense' as cadence
from schedule as s
cross join lateral generate_series(0, s.dense_count - 1) as k
where s.dense
  and s.latest_cutoff - k * s.dense_interval_days >= s.first_activity_date
