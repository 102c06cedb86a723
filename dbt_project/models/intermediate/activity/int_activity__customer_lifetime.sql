{{ config(**incremental_customers_config(
    ['orders', 'interactions', 'tickets', 'surveys'],
    indexes=[{'columns': ['customer_id'], 'unique': true}],
    grain='carried',
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
    (docs/scaling.md, "Session 14"). A rebuild reads every row anyway and keeps it inlined.
    Carried forward (grain 'carried', session 31): most affected customers only added days after the stored
    date (the night's logins, app events, tickets) or none at all (a failed login, a survey sent but not
    answered), and no purchase. Their stored row stays exact with the new days folded in (the last login /
    activity day and time move forward; paid orders and every purchase-cycle value stay, since those change
    only with a purchase day). Only a customer with a changed stored day (a
    re-exported or late row up to the stored date), a new purchase day or no stored row is recomputed from its
    whole history: at 300,000 customers the night's 47,750 affected customers read 3.5M customer-days
    (their long histories) when all were recomputed. -#}
{%- set forward_from = incremental_customers_forward_from() %}
{%- if forward_from is not none %}
{%- set stored = "date '" ~ forward_from ~ "'" %}
with keys as (
    select customer_id, bool_or(activity_date <= {{ stored }}) as changed
    from {{ incremental_customers_affected() }}
    group by customer_id
),

-- the days after the stored date of the customers whose stored days are unchanged
new_days as (
    select
        k.customer_id,
        bool_or(d.paid_orders > 0) as purchased,
        max(d.activity_date) filter (where d.logins > 0) as last_login_date,
        max(d.activity_date) as last_activity_date,
        max(d.last_activity_at) as last_activity_at
    from keys as k
    cross join lateral (
        select * from {{ ref('int_activity__customer_days') }} as r
        where r.customer_id = k.customer_id and r.activity_date > {{ stored }}
        offset 0
    ) as d
    where not k.changed
    group by k.customer_id
),

carried as (
    select
        s.customer_id,
        s.paid_orders,
        s.last_order_date,
        greatest(s.last_login_date, n.last_login_date) as last_login_date,
        greatest(s.last_activity_date, n.last_activity_date) as last_activity_date,
        greatest(s.last_activity_at, n.last_activity_at) as last_activity_at,
        s.median_purchase_cycle_days,
        s.purchase_days_lifetime,
        s.first_purchase_date,
        s.gap_mean_days,
        s.gap_sd_days,
        s.gap_max_days,
        s.last_gap_days,
        s.purchase_amount_z_last
    from {{ incremental_customers_stored() }} as s
    join keys as k on k.customer_id = s.customer_id and not k.changed
    left join new_days as n on n.customer_id = s.customer_id
    where not coalesce(n.purchased, false)
),

-- not exists, an anti join: `not in (subquery)` is a hashed subplan only while the planner expects the
-- subquery to fit work_mem, else a plain subplan that rescans it for every key; at 1,000,000 customers this
-- step took 855.6 s that way (docs/scaling.md, "Session 32")
recomputed as (
    select k.customer_id
    from keys as k
    where not exists (select 1 from carried as c where c.customer_id = k.customer_id)
),

-- one hashed pass over the days: probing the customer index per customer read a random heap page per day
-- (a first build or full refresh writes the days in no customer order; 17,331 customers' 1.0M days took
-- 5.5 s at 300,000 customers against about 1.2 s for the scan)
days as materialized (
    select d.*
    from {{ ref('int_activity__customer_days') }} as d
    where d.customer_id in (select r.customer_id from recomputed as r)
),
{%- else %}
with days as not materialized (
    select d.*
    from {{ ref('int_activity__customer_days') }} as d
),
{%- endif %}

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
{%- if forward_from is not none %}

union all

select * from carried
{%- endif %}
{{ incremental_customers_order('customer_id') }}
