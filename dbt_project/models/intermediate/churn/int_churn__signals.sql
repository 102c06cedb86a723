{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- CF-13 return-policy page views (7 / 30 days) and CF-20 security signal: share of failed logins among
    login attempts over 30 days, and its change against the 90 days before (NULL without attempts).
    Per (customer_id, as_of_date) with such an event in the 120 days before the end of the as-of date.
    The scan is bounded by the window of the cutoffs (implied by the join, so the rows are the same): a
    literal range in a nightly build, whose only cutoff is the run date (the planner reads those 120 days of
    events, not every event), the earliest / latest cutoff with training cutoffs. -#}
{%- if churn_with_training_cutoffs() %}
    {%- set scan_from = '(select min(c.as_of_end) from ' ~ ref('int_churn__cutoffs') ~ ' as c)' %}
    {%- set scan_to = '(select max(c.as_of_end) from ' ~ ref('int_churn__cutoffs') ~ ' as c)' %}
{%- else %}
    {%- set scan_from = run_end() %}
    {%- set scan_to = run_end() %}
{%- endif %}
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
  and i.event_ts >= {{ scan_from }} - interval '120 days'
  and i.event_ts < {{ scan_to }}
group by i.customer_id, a.as_of_date
