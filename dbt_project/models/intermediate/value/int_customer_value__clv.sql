{{ config(materialized='table', indexes=[{'columns': ['customer_id'], 'unique': true}]) }}
{#- CLV estimate (CV-06), one row per customer registered by run_date. Method (documented in the yml):
    "simple retention CLV" = average monthly net revenue of the trailing 12 months x expected active
    months over the horizon, where a month is kept with the monthly retention probability of the
    customer's segment, estimated from history one year earlier:
      segment   'recent' = last paid order within winback_min_inactive_days of the reference end,
                'lapsed' = older (a customer without a paid order in the last 12 months has no value: 0);
      r_12m     of the customers who bought in [run_end - 24 months, run_end - 12 months), per their
                segment at run_end - 12 months, the share who bought again in the 12 months after;
      r_month   = r_12m ^ (1/12);  expected_months = sum_{m=1..H} r_month^m;  H = clv_horizon_months.
    clv_horizon_months is [U]: while it is unset (or the history is shorter than two years, so r_12m is
    unknown) clv_estimate is null and the lists use revenue_365d. CLV >= 0, proportional to spend
    within a segment. Products / cross-sell (CV-06) are not in the landing contract: not used. -#}
with params as (
    select
        {{ policy_param('clv_horizon_months', 'integer') }} as horizon_months,
        {{ policy_param('winback_min_inactive_days', 'integer') }} as recent_days
),

bounds as (
    select
        {{ run_end() }} as now_end,
        {{ run_end() }} - interval '12 months' as year_ago_end,
        {{ run_end() }} - interval '24 months' as two_years_ago_end
),

paid as (
    select o.customer_id, o.order_ts, o.net_amount
    from {{ ref('fct_orders') }} as o
    where o.order_status <> 'cancelled'
      and o.order_ts < {{ run_end() }}
),

year_ago as (
    select
        o.customer_id,
        case when max(o.order_ts) filter (where o.order_ts < b.year_ago_end) >= b.year_ago_end - make_interval(days => p.recent_days)
             then 'recent' else 'lapsed' end as segment,
        bool_or(o.order_ts >= b.year_ago_end) as bought_again
    from paid as o
    cross join bounds as b
    cross join params as p
    where o.order_ts >= b.two_years_ago_end
    group by o.customer_id, b.year_ago_end, p.recent_days
    -- buyers of the prior year only
    having bool_or(o.order_ts < b.year_ago_end)
),

segment_retention as (
    select segment, avg(case when bought_again then 1.0 else 0.0 end) as retention_12m, count(*) as cohort_size
    from year_ago
    group by segment
),

current_customers as (
    select
        r.customer_id,
        r.revenue_window,
        case when r.last_order_at >= b.now_end - make_interval(days => p.recent_days)
             then 'recent' else 'lapsed' end as segment,
        r.last_order_at >= b.year_ago_end as bought_last_12m
    from {{ ref('int_customers__revenue') }} as r
    cross join bounds as b
    cross join params as p
),

monthly as (
    select
        c.customer_id,
        c.segment,
        c.bought_last_12m,
        (c.revenue_window / 12.0)::double precision as monthly_value,
        s.retention_12m::double precision as retention_12m,
        power(s.retention_12m::double precision, 1.0 / 12) as retention_month,
        p.horizon_months
    from current_customers as c
    cross join params as p
    left join segment_retention as s on s.segment = c.segment
),

expected as (
    select
        customer_id,
        case when bought_last_12m then segment end as clv_segment,
        retention_12m as clv_segment_retention_12m,
        case
            when horizon_months is null then null
            when not coalesce(bought_last_12m, false) then 0
            when retention_month is null then null
            when retention_month >= 1 then horizon_months::double precision
            else retention_month * (1 - power(retention_month, horizon_months)) / (1 - retention_month)
        end as clv_expected_active_months,
        monthly_value as clv_monthly_value
    from monthly
)

select
    customer_id,
    clv_segment,
    clv_segment_retention_12m,
    clv_expected_active_months,
    clv_monthly_value,
    (clv_monthly_value * clv_expected_active_months)::numeric(18, 2) as clv_estimate
from expected
