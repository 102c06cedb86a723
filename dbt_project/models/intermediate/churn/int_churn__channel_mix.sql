{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- CF-14 change in channel mix: total variation distance between the channel shares of paid orders in the
    last 90 days and in the 275 days before (0 = same mix, 1 = disjoint); NULL without orders in both. -#}
select
    cc.customer_id,
    cc.as_of_date,
    0.5 * sum(abs(cc.recent::double precision / cc.recent_total - cc.prior::double precision / cc.prior_total))
        as channel_mix_change_90d
from (
    select
        c.*,
        sum(c.recent) over (partition by c.customer_id, c.as_of_date) as recent_total,
        sum(c.prior) over (partition by c.customer_id, c.as_of_date) as prior_total
    from (
        select
            o.customer_id,
            a.as_of_date,
            coalesce(o.order_channel, 'unknown') as channel,
            count(*) filter (where o.order_ts >= a.as_of_end - interval '90 days') as recent,
            count(*) filter (where o.order_ts < a.as_of_end - interval '90 days') as prior
        from {{ ref('fct_orders') }} as o
        join {{ ref('int_churn__cutoffs') }} as a
          on o.order_ts < a.as_of_end
         and o.order_ts >= a.as_of_end - interval '365 days'
        where o.order_status <> 'cancelled'
        group by o.customer_id, a.as_of_date, coalesce(o.order_channel, 'unknown')
    ) as c
) as cc
where cc.recent_total > 0 and cc.prior_total > 0
group by cc.customer_id, cc.as_of_date
