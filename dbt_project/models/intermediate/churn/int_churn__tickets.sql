{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Complaint and service families of the churn features (CF-06 complaints, CF-08 service experience), per
    (customer_id, as_of_date) of int_churn__cutoffs with at least one ticket created before the end of the
    as-of date. Rows are the latest ticket version as of run_date (int_complaints__tickets_latest);
    timestamps, not statuses, decide what was known at the cutoff (a ticket resolved after the cutoff
    counts as open at it; a reopen counts only when the ticket's latest version was already exported
    before the cutoff). Windowed counts for the policy windows (technical_complaint_window_days,
    crisis_sensitive_window_days) feed the flags of int_churn__features. -#}
with params as (
    select
        {{ policy_param('churn_slow_response_frt_minutes') }} as slow_frt_minutes,
        {{ policy_param('technical_complaint_window_days', 'integer') }} as technical_window_days,
        {{ policy_param('crisis_sensitive_window_days', 'integer') }} as sensitive_window_days
)

select
    t.customer_id,
    a.as_of_date,
    count(*) filter (where t.ticket_type = 'complaint' and t.created_at >= a.as_of_end - interval '30 days') as complaints_30d,
    count(*) filter (where t.ticket_type = 'complaint' and t.created_at >= a.as_of_end - interval '90 days') as complaints_90d,
    count(*) filter (
        where t.ticket_type = 'complaint'
          and t.created_at >= a.as_of_end - interval '180 days'
          and t.created_at < a.as_of_end - interval '90 days'
    ) as complaints_prior_90d,
    count(*) filter (where t.ticket_type = 'complaint' and t.created_at >= a.as_of_end - interval '365 days') as complaints_365d,
    count(*) filter (where t.ticket_type = 'complaint') as complaints_lifetime,
    count(*) filter (
        where t.ticket_type = 'complaint'
          and {{ in_crisis_sensitive_window('t.created_at', 'p.sensitive_window_days', 'a.as_of_end') }}
    ) as complaints_sensitivity_window,
    count(*) filter (
        where {{ is_technical_complaint('t') }} and t.created_at >= a.as_of_end - interval '90 days'
    ) as technical_complaints_90d,
    count(*) filter (
        where {{ is_technical_complaint('t') }}
          and t.created_at >= a.as_of_end - make_interval(days => p.technical_window_days)
    ) as technical_complaints_window,
    max(t.created_at) filter (where t.ticket_type = 'complaint') as last_complaint_at,
    count(*) filter (where t.created_at >= a.as_of_end - interval '90 days') as tickets_90d,
    count(*) filter (
        where coalesce(least(t.resolved_at, t.closed_at), a.as_of_end) >= a.as_of_end
    ) as open_tickets,
    count(*) filter (
        where t.ticket_type = 'complaint'
          and coalesce(least(t.resolved_at, t.closed_at), a.as_of_end) >= a.as_of_end
    ) as open_complaints,
    count(*) filter (
        where t.created_at >= a.as_of_end - interval '90 days'
          and {{ minutes_between('t.created_at', 'least(coalesce(t.first_response_at, a.as_of_end), a.as_of_end)') }}
              > p.slow_frt_minutes
    ) as slow_responses_90d,
    avg({{ minutes_between('t.created_at', 't.first_response_at') }}) filter (
        where t.created_at >= a.as_of_end - interval '90 days'
          and t.first_response_at < a.as_of_end
    ) as mean_frt_minutes_90d,
    avg({{ minutes_between('t.created_at', 't.resolved_at') }} / 60.0) filter (
        where t.created_at >= a.as_of_end - interval '90 days'
          and t.resolved_at < a.as_of_end
    ) as mean_ttr_hours_90d,
    count(*) filter (
        where t.created_at >= a.as_of_end - interval '90 days'
          and t.reopened_count > 0
          and t.updated_at < a.as_of_end
    ) as reopened_tickets_90d
from {{ ref('int_complaints__tickets_latest') }} as t
join {{ ref('int_churn__cutoffs') }} as a on t.created_at < a.as_of_end
cross join params as p
where t.customer_id is not null
group by t.customer_id, a.as_of_date
