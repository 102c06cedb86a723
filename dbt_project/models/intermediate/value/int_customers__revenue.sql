{#- Per customer registered by the run date: net paid revenue over the trailing value window (CV-01,
    2.1: cancelled orders excluded, net_amount is already after discounts and refunds), order counts
    and last order, last activity. -#}
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
    from {{ ref('stg_crm__orders') }} as o
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
        max(o.order_ts) as last_order_at
    from paid_orders as o
    cross join params as p
    group by o.customer_id
),

activity as (
    select customer_id, max(activity_ts) as last_activity_at
    from {{ ref('int_customers__activity_events') }}
    where activity_ts < {{ run_end() }}
    group by customer_id
)

select
    c.customer_id,
    c.customer_status,
    c.registered_at,
    coalesce(s.revenue_window, 0)::numeric(18, 2) as revenue_window,
    coalesce(s.orders_window, 0) as orders_window,
    coalesce(s.orders_lifetime, 0) as orders_lifetime,
    s.last_order_at,
    a.last_activity_at
from customers as c
left join order_stats as s on s.customer_id = c.customer_id
left join activity as a on a.customer_id = c.customer_id
