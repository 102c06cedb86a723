{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Value position at each as-of date (CF-01 RFM scores, CV-01 / CV-04 ranks, high value): the value mart's
    ranking rule (macro rfm_ranks(), as in int_customer_value__ranked) applied per as_of_date to every
    customer of the churn population, on the trailing 365-day orders and revenue of int_churn__activity.
    High value (2.2): 365-day spend above vip_annual_spend_threshold, or positive spend within the top
    value_top_share by revenue rank (customer_value's is_vip / is_top20). -#}
with ranked as (
    select
        a.customer_id,
        a.as_of_date,
        coalesce(a.revenue_365d, 0) as revenue_365d,
        {{ rfm_ranks('a.customer_id', 'a.as_of_date - a.last_order_date', 'coalesce(a.orders_365d, 0)',
                     'coalesce(a.revenue_365d, 0)', partition_by='a.as_of_date') }}
    from {{ ref('int_churn__activity') }} as a
)

select
    r.customer_id,
    r.as_of_date,
    r.r_score,
    r.f_score,
    r.m_score,
    r.revenue_rank_pct,
    (case when r.revenue_365d > {{ policy_param('vip_annual_spend_threshold') }}
            or (r.revenue_365d > 0 and r.revenue_rank_pct <= {{ policy_param('value_top_share') }}) then 1 else 0 end) as is_high_value
from ranked as r
