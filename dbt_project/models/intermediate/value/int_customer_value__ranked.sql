{#- Ranks of the value mart (CV-01, CV-04). The ranking population is status = active (2.1): revenue
    descending with ties broken by customer_id; RFM quintiles 1-5 (5 = best). Non-active customers get
    null ranks. The ranking rule is the rfm_ranks() macro, shared with the churn features. -#}
with base as (
    select
        r.*,
        {{ run_date() }} - {{ utc_date('r.last_order_at') }} as recency_days
    from {{ ref('int_customers__revenue') }} as r
),

ranked as (
    select
        customer_id,
        {{ rfm_ranks('customer_id', 'recency_days', 'orders_window', 'revenue_window') }}
    from base
    where customer_status = 'active'
)

select
    b.customer_id,
    b.customer_status,
    b.registered_at,
    b.revenue_window,
    b.orders_window,
    b.orders_lifetime,
    b.last_order_at,
    b.last_activity_at,
    b.recency_days,
    b.revenue_90d,
    b.revenue_prior_90d,
    b.purchase_months_12m,
    b.median_purchase_cycle_days,
    r.revenue_rank_pct,
    r.r_score,
    r.f_score,
    r.m_score
from base as b
left join ranked as r on r.customer_id = b.customer_id
