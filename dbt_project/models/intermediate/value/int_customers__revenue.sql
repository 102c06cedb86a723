{{ config(materialized='table', indexes=[{'columns': ['customer_id'], 'unique': true}]) }}
{#- Per customer registered by the run date: net paid revenue over the trailing value window (CV-01,
    2.1: cancelled orders excluded, net_amount is already after discounts and refunds), order counts
    and last order, last activity; plus the spend history the value mart needs: revenue of the last 90
    days and of the 90 days before (CV-07 spend trend), months of the last 12 with a purchase (CV-05
    retention rate) and the median days between purchase days (CV-06 purchase cycle). -#}
with params as (
    select {{ policy_param('value_revenue_window_days', 'integer') }} as window_days
),

customers as (
    select customer_id, customer_status, registered_at
    from {{ ref('stg_crm__customers') }}
    where registered_at < {{ run_end() }}
),

paid_orders as (
    select o.customer_id, o.order_id, o.order_ts, o.net_amount
    from {{ ref('fct_orders') }} as o
    where o.order_status <> 'cancelled'
      and o.order_ts < {{ run_end() }}
),

order_stats as (
    select
        o.customer_id,
        coalesce(sum(o.net_amount) filter (
            where o.order_ts >= {{ run_end() }} - make_interval(days => p.window_days)), 0) as revenue_window,
        count(*) filter (
            where o.order_ts >= {{ run_end() }} - make_interval(days => p.window_days)) as orders_window,
        count(*) as orders_lifetime,
        max(o.order_ts) as last_order_at,
        coalesce(sum(o.net_amount) filter (where o.order_ts >= {{ run_end() }} - interval '90 days'), 0) as revenue_90d,
        coalesce(sum(o.net_amount) filter (
            where o.order_ts >= {{ run_end() }} - interval '180 days'
              and o.order_ts < {{ run_end() }} - interval '90 days'), 0) as revenue_prior_90d,
        count(distinct (extract(year from age({{ run_end() }}, o.order_ts)) * 12
                        + extract(month from age({{ run_end() }}, o.order_ts)))) filter (
            where o.order_ts >= {{ run_end() }} - interval '12 months') as purchase_months_12m
    from paid_orders as o
    cross join params as p
    group by o.customer_id
),

-- last activity time (CV-07) and median purchase cycle (CV-06) from the incremental-by-customer lifetime
-- table: kept current each night for the customers with new input, instead of a pass over every event and
-- purchase day
lifetime as (
    select customer_id, last_activity_at, median_purchase_cycle_days
    from {{ ref('int_activity__customer_lifetime') }}
)

select
    c.customer_id,
    c.customer_status,
    c.registered_at,
    coalesce(s.revenue_window, 0)::numeric(18, 2) as revenue_window,
    coalesce(s.orders_window, 0) as orders_window,
    coalesce(s.orders_lifetime, 0) as orders_lifetime,
    s.last_order_at,
    l.last_activity_at,
    coalesce(s.revenue_90d, 0)::numeric(18, 2) as revenue_90d,
    coalesce(s.revenue_prior_90d, 0)::numeric(18, 2) as revenue_prior_90d,
    coalesce(s.purchase_months_12m, 0)::integer as purchase_months_12m,
    l.median_purchase_cycle_days::numeric(10, 1) as median_purchase_cycle_days
from customers as c
left join order_stats as s on s.customer_id = c.customer_id
left join lifetime as l on l.customer_id = c.customer_id
