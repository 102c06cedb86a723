{{ config(**incremental_customers_config(
    ['orders', 'interactions', 'tickets', 'surveys'],
    indexes=[{'columns': ['customer_id'], 'unique': true}],
)) }}
{#- Lifetime activity per customer as of run_date (CF-01, CF-03, CF-04): paid orders, last order / login /
    activity day over every day of int_activity__customer_days. The run-date row of int_churn__activity's
    lifetime family reads it instead of re-aggregating every customer's whole history each night (the
    largest sort of the nightly marts at 100k: 3.7M customer-days); the training cutoffs before the run
    date keep their per-bucket sums there. The aggregates are written once (macro
    activity_lifetime_aggregates) for both. Incremental by customer (macro incremental_customers, the
    same sources as int_activity__customer_days): a customer's lifetime changes only with its days.
    last_activity_at (the latest activity time, CV-07) and median_purchase_cycle_days (the median of the
    gaps between consecutive purchase days, CV-06 / CF-02) are read by int_customers__revenue and by the
    run-date row of int_churn__activity, the purchase-cycle aggregates (CF-02 / CF-14) by the run-date row
    of int_churn__purchase_cycle: there each was a pass over every event or purchase day each night.
    `days` feeds two branches (the aggregates, the purchase days' window). On a forward night it is
    materialized: inlined, each branch scanned the whole 38M-row customer-days table for the affected
    customers (at 1M, 785,802 pages read, 6.1 GB); materialized, one scan and 0.8 GB of temporary file
    (docs/scaling.md, "Session 14"). A rebuild reads every row anyway and keeps it inlined. -#}
with days as {% if incremental_customers_forward_from() is none %}not {% endif %}materialized (
    select d.*
    from {{ ref('int_activity__customer_days') }} as d
    where true
      {{ incremental_customers_filter('d.customer_id') }}
),

-- CF-02 / CF-14 purchase days (macro purchase_day_measures) and their aggregates: one row per customer with
-- a paid order
purchase_days as (
    select d.customer_id, d.activity_date, {{ purchase_day_measures('d') }}
    from days as d
    where d.paid_orders > 0
),

purchases as (
    select
        pd.customer_id,
        {{ purchase_cycle_aggregates('pd') }},
        percentile_cont(0.5) within group (order by pd.gap_days) as median_purchase_cycle_days
    from purchase_days as pd
    group by pd.customer_id
),

lifetime as (
    select
        d.customer_id,
        {{ activity_lifetime_aggregates('d') }},
        max(d.last_activity_at) as last_activity_at
    from days as d
    group by d.customer_id
)

select
    l.*,
    p.median_purchase_cycle_days,
    p.purchase_days_lifetime,
    p.first_purchase_date,
    p.gap_mean_days,
    p.gap_sd_days,
    p.gap_max_days,
    p.last_gap_days,
    p.purchase_amount_z_last
from lifetime as l
left join purchases as p on p.customer_id = l.customer_id
{{ incremental_customers_order('l.customer_id') }}
