{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- CF-12 risk keywords in the customer's own messages over 30 days: texts (ticket texts, survey comments)
    where the enrichment task found a keyword of the `risk` list of the keyword_lists seed (one source for
    the list: the enrichment's matcher; no sentiment gate, a keyword match does not depend on the model).
    Without the enrichment (customers + orders only) the count is 0.
    CF-13 return-policy page views (7 / 30 days) and CF-20 security signal: share of failed logins among
    login attempts over 30 days, and its change against the 90 days before (NULL without attempts).
    Per (customer_id, as_of_date) with either. -#}
with keywords as (
    select t.customer_id, a.as_of_date, count(*) as risk_keyword_messages_30d
    from {{ ref('stg_enrichment__text_sentiment') }} as t
    join {{ ref('int_churn__cutoffs') }} as a
      on t.text_ts < a.as_of_end
     and t.text_ts >= a.as_of_end - interval '30 days'
    where t.customer_id is not null
      and t.has_risk_keyword
    group by t.customer_id, a.as_of_date
),

interactions as (
    select
        i.customer_id,
        a.as_of_date,
        count(*) filter (
            where i.event_type = 'page_view' and i.page_type = 'return_policy'
              and i.event_ts >= a.as_of_end - interval '7 days'
        ) as return_policy_views_7d,
        count(*) filter (
            where i.event_type = 'page_view' and i.page_type = 'return_policy'
              and i.event_ts >= a.as_of_end - interval '30 days'
        ) as return_policy_views_30d,
        avg(case when i.event_type = 'login_failed' then 1.0 else 0.0 end) filter (
            where i.event_type in ('login', 'login_failed') and i.event_ts >= a.as_of_end - interval '30 days'
        ) as failed_login_share_30d,
        avg(case when i.event_type = 'login_failed' then 1.0 else 0.0 end) filter (
            where i.event_type in ('login', 'login_failed') and i.event_ts < a.as_of_end - interval '30 days'
        ) as failed_login_share_prior_90d
    from {{ ref('fct_interactions') }} as i
    join {{ ref('int_churn__cutoffs') }} as a
      on i.event_ts < a.as_of_end
     and i.event_ts >= a.as_of_end - interval '120 days'
    where i.event_type in ('page_view', 'login', 'login_failed')
    group by i.customer_id, a.as_of_date
)

select
    coalesce(i.customer_id, k.customer_id) as customer_id,
    coalesce(i.as_of_date, k.as_of_date) as as_of_date,
    k.risk_keyword_messages_30d,
    i.return_policy_views_7d,
    i.return_policy_views_30d,
    i.failed_login_share_30d,
    i.failed_login_share_prior_90d
from interactions as i
full join keywords as k on k.customer_id = i.customer_id and k.as_of_date = i.as_of_date
