{#- Customer complaint aggregates (CM-06), one row per customer registered by the run date.
    is_crisis_sensitive: complaints within crisis_sensitive_window_days (empty = lifetime) >=
    crisis_sensitive_min_complaints (4, i.e. "> 3"). Technical complaints over
    technical_complaint_window_days. complaint_growth [D]: complaints in the last complaint_growth_window_days
    (30) against the average window of the complaint_growth_baseline_days (90) before it; null without a
    baseline. Open-complaint and emotion flags feed AL-10. -#}
with customers as (
    select customer_id
    from {{ ref('stg_crm__customers') }}
    where registered_at < {{ run_end() }}
),

tickets as (
    select *
    from {{ ref('fct_tickets') }}
    where run_date = {{ run_date() }}
      and customer_id is not null
),

params as (
    select
        {{ policy_param('crisis_sensitive_min_complaints', 'integer') }} as sensitive_min_complaints,
        {{ policy_param('crisis_sensitive_window_days', 'integer') }} as sensitive_window_days,
        {{ policy_param('technical_complaint_window_days', 'integer') }} as technical_window_days,
        {{ policy_param('complaint_growth_window_days', 'integer') }} as growth_window_days,
        {{ policy_param('complaint_growth_baseline_days', 'integer') }} as growth_baseline_days
),

aggregated as (
    select
        t.customer_id,
        count(*) filter (where t.is_complaint) as complaints_lifetime,
        count(*) filter (where t.is_complaint and t.created_at >= {{ run_end() }} - interval '365 days') as complaints_365d,
        count(*) filter (where t.is_complaint and t.created_at >= {{ run_end() }} - interval '90 days') as complaints_90d,
        count(*) filter (where t.is_complaint and t.created_at >= {{ run_end() }} - interval '30 days') as complaints_30d,
        count(*) filter (
            where t.is_complaint and {{ in_crisis_sensitive_window('t.created_at', 'p.sensitive_window_days') }}
        ) as complaints_sensitivity_window,
        count(*) filter (
            where t.is_complaint and t.created_at >= {{ run_end() }} - make_interval(days => p.growth_window_days)
        ) as complaints_growth_window,
        count(*) filter (
            where t.is_complaint
              and t.created_at < {{ run_end() }} - make_interval(days => p.growth_window_days)
              and t.created_at >= {{ run_end() }} - make_interval(days => p.growth_window_days + p.growth_baseline_days)
        ) as complaints_growth_baseline,
        count(*) filter (where t.is_open) as open_tickets,
        count(*) filter (where t.is_open and t.is_complaint) as open_complaints,
        count(*) filter (where t.is_open and t.is_complaint and t.is_high_risk_emotion) as open_high_risk_emotion_complaints,
        count(*) filter (where t.is_complaint and t.reopened_count > 0) as reopened_complaints,
        max(t.created_at) filter (where t.is_complaint) as last_complaint_at,
        bool_or(t.is_technical_complaint
                and t.created_at >= {{ run_end() }} - make_interval(days => p.technical_window_days)) as has_technical
    from tickets as t
    cross join params as p
    group by t.customer_id
)

select
    {{ run_date() }} as run_date,
    c.customer_id,
    coalesce(a.complaints_lifetime, 0) as complaints_lifetime,
    coalesce(a.complaints_365d, 0) as complaints_365d,
    coalesce(a.complaints_90d, 0) as complaints_90d,
    coalesce(a.complaints_30d, 0) as complaints_30d,
    coalesce(a.open_tickets, 0) as open_tickets,
    coalesce(a.open_complaints, 0) as open_complaints,
    coalesce(a.open_high_risk_emotion_complaints, 0) as open_high_risk_emotion_complaints,
    coalesce(a.reopened_complaints, 0) as reopened_complaints,
    (a.complaints_growth_window
        / nullif(a.complaints_growth_baseline * p.growth_window_days::numeric / p.growth_baseline_days, 0)
    )::double precision as complaint_growth,
    a.last_complaint_at,
    coalesce(a.has_technical, false) as has_technical_complaint_90d,
    coalesce(a.complaints_sensitivity_window, 0) >= p.sensitive_min_complaints as is_crisis_sensitive,
    coalesce(a.complaints_sensitivity_window, 0) >= p.sensitive_min_complaints as high_complaint,
    {{ policy_version() }} as policy_version
from customers as c
left join aggregated as a on a.customer_id = c.customer_id
cross join params as p
where {{ require_rule_params(['CM-06']) }}
