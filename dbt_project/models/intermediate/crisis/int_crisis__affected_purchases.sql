{#- RP-03: one row per crisis event (int_crisis__windows) and distinct affected customer: in which of the
    event's windows the customer placed a non-cancelled order (as revenue counts orders; returned
    orders count). The base of repurchase recovery (crisis_recovery), churn and loyalty (crisis_effects).
    A customer without any order in the windows has a row with three false flags. -#}
with affected as (
    select distinct a.crisis_event_id, a.customer_id
    from {{ ref('stg_crm__crisis_affected_customers') }} as a
    inner join {{ ref('int_crisis__windows') }} as e on e.crisis_event_id = a.crisis_event_id
)

select
    a.crisis_event_id,
    a.customer_id,
    coalesce(bool_or(o.order_ts < e.pre_start), false) as bought_base,
    coalesce(bool_or(o.order_ts >= e.pre_start and o.order_ts < e.started_at), false) as bought_pre,
    coalesce(bool_or(o.order_ts >= e.post_start), false) as bought_post
from affected as a
inner join {{ ref('int_crisis__windows') }} as e on e.crisis_event_id = a.crisis_event_id
left join {{ ref('stg_crm__orders') }} as o
    on o.customer_id = a.customer_id
   and o.order_status <> 'cancelled'
   and ((o.order_ts >= e.base_start and o.order_ts < e.started_at)
        or (o.order_ts >= e.post_start and o.order_ts < e.post_cut))
group by a.crisis_event_id, a.customer_id
