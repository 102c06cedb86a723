{#- Point-in-time churn features (seed_spec 3.5 CF-01..CF-11, subset) for every customer registered on or
    before each as-of date of `as_of_dates_relation` (any relation or parenthesised subquery with an
    `as_of_date` column). Only events strictly before the end of the as-of date (UTC) are used, so the
    same SQL serves scoring (as_of_date = run_date) and training snapshots without leakage.
    Caveat: rows are the latest staged version as of run_date (a later cancellation of an earlier order is
    visible); timestamps, not statuses, decide what was known at the cutoff wherever possible.
    Only customers + orders are needed; missing optional tables give 0 / null features.
    Output: customer_id, as_of_date, customer_status (text, not a feature), then churn_feature_columns(). -#}

{% macro churn_feature_columns() -%}
    {{ return([
        'tenure_days', 'days_inactive', 'recency_days',
        'orders_30d', 'orders_90d', 'orders_365d', 'orders_lifetime',
        'revenue_30d', 'revenue_90d', 'revenue_365d', 'avg_order_value_365d',
        'logins_7d', 'logins_30d', 'logins_90d',
        'app_events_7d', 'app_events_30d', 'app_events_90d', 'activity_trend_30_vs_prior_60',
        'complaints_30d', 'complaints_90d', 'complaints_lifetime', 'technical_complaints_90d',
        'tickets_90d', 'open_tickets', 'slow_responses_90d', 'mean_frt_minutes_90d',
        'surveys_answered_365d', 'csat_mean_365d', 'last_nps_score',
        'compensations_365d', 'compensation_amount_365d',
        'crisis_affected', 'crisis_exposures', 'days_since_crisis_exposure'
    ]) }}
{%- endmacro %}

{% macro churn_features(as_of_dates_relation) -%}
with as_of as (
    select distinct
        d.as_of_date::date as as_of_date,
        {{ day_end('d.as_of_date::date') }} as as_of_end
    from {{ as_of_dates_relation }} as d
),

feature_params as (
    select {{ policy_param('churn_slow_response_frt_minutes') }} as slow_frt_minutes
),

population as (
    select c.customer_id, c.customer_status, c.registered_at, a.as_of_date, a.as_of_end
    from {{ ref('stg_crm__customers') }} as c
    join as_of as a on c.registered_at < a.as_of_end
),

f_orders as (
    select
        o.customer_id,
        a.as_of_date,
        max(o.order_ts) as last_order_at,
        count(*) as orders_lifetime,
        count(*) filter (where o.order_ts >= a.as_of_end - interval '30 days') as orders_30d,
        count(*) filter (where o.order_ts >= a.as_of_end - interval '90 days') as orders_90d,
        count(*) filter (where o.order_ts >= a.as_of_end - interval '365 days') as orders_365d,
        coalesce(sum(o.net_amount) filter (where o.order_ts >= a.as_of_end - interval '30 days'), 0) as revenue_30d,
        coalesce(sum(o.net_amount) filter (where o.order_ts >= a.as_of_end - interval '90 days'), 0) as revenue_90d,
        coalesce(sum(o.net_amount) filter (where o.order_ts >= a.as_of_end - interval '365 days'), 0) as revenue_365d
    from {{ ref('stg_crm__orders') }} as o
    join as_of as a on o.order_ts < a.as_of_end
    where o.order_status <> 'cancelled'
    group by o.customer_id, a.as_of_date
),

f_interactions as (
    select
        e.customer_id,
        a.as_of_date,
        count(*) filter (where e.event_type = 'login' and e.event_ts >= a.as_of_end - interval '7 days') as logins_7d,
        count(*) filter (where e.event_type = 'login' and e.event_ts >= a.as_of_end - interval '30 days') as logins_30d,
        count(*) filter (where e.event_type = 'login') as logins_90d,
        count(*) filter (where e.event_type <> 'login' and e.event_ts >= a.as_of_end - interval '7 days') as app_events_7d,
        count(*) filter (where e.event_type <> 'login' and e.event_ts >= a.as_of_end - interval '30 days') as app_events_30d,
        count(*) filter (where e.event_type <> 'login') as app_events_90d,
        count(*) filter (where e.event_ts >= a.as_of_end - interval '30 days') as events_30d,
        count(*) filter (where e.event_ts < a.as_of_end - interval '30 days') as events_prior_60d
    from {{ ref('stg_crm__interactions') }} as e
    join as_of as a
      on e.event_ts < a.as_of_end
     and e.event_ts >= a.as_of_end - interval '90 days'
    where e.event_type <> 'login_failed'
    group by e.customer_id, a.as_of_date
),

f_tickets as (
    select
        t.customer_id,
        a.as_of_date,
        count(*) filter (where t.ticket_type = 'complaint' and t.created_at >= a.as_of_end - interval '30 days') as complaints_30d,
        count(*) filter (where t.ticket_type = 'complaint' and t.created_at >= a.as_of_end - interval '90 days') as complaints_90d,
        count(*) filter (where t.ticket_type = 'complaint') as complaints_lifetime,
        count(*) filter (
            where t.ticket_type = 'complaint'
              and t.created_at >= a.as_of_end - interval '90 days'
              and (t.category_l1 in ('function', 'performance', 'security') or t.complaint_type = 'technical')
        ) as technical_complaints_90d,
        count(*) filter (where t.created_at >= a.as_of_end - interval '90 days') as tickets_90d,
        count(*) filter (
            where coalesce(least(t.resolved_at, t.closed_at), a.as_of_end) >= a.as_of_end
        ) as open_tickets,
        count(*) filter (
            where t.created_at >= a.as_of_end - interval '90 days'
              and {{ minutes_between('t.created_at', 'least(coalesce(t.first_response_at, a.as_of_end), a.as_of_end)') }}
                  > p.slow_frt_minutes
        ) as slow_responses_90d,
        avg({{ minutes_between('t.created_at', 't.first_response_at') }}) filter (
            where t.created_at >= a.as_of_end - interval '90 days'
              and t.first_response_at < a.as_of_end
        ) as mean_frt_minutes_90d
    from {{ ref('stg_crm__tickets') }} as t
    join as_of as a on t.created_at < a.as_of_end
    cross join feature_params as p
    where t.customer_id is not null
    group by t.customer_id, a.as_of_date
),

f_surveys as (
    select
        s.customer_id,
        a.as_of_date,
        count(*) filter (where s.responded_at >= a.as_of_end - interval '365 days') as surveys_answered_365d,
        avg(s.score) filter (
            where s.survey_type = 'CSAT' and s.responded_at >= a.as_of_end - interval '365 days'
        ) as csat_mean_365d,
        (array_agg(s.score order by s.responded_at desc, s.survey_id desc)
            filter (where s.survey_type = 'NPS' and s.score is not null))[1] as last_nps_score
    from {{ ref('stg_crm__surveys') }} as s
    join as_of as a on s.responded_at < a.as_of_end
    group by s.customer_id, a.as_of_date
),

f_compensations as (
    select
        c.customer_id,
        a.as_of_date,
        count(*) as compensations_365d,
        coalesce(sum(c.amount), 0) as compensation_amount_365d
    from {{ ref('stg_crm__compensations') }} as c
    join as_of as a
      on c.issued_at < a.as_of_end
     and c.issued_at >= a.as_of_end - interval '365 days'
    group by c.customer_id, a.as_of_date
),

f_crisis as (
    select
        ac.customer_id,
        a.as_of_date,
        count(distinct ce.crisis_event_id) as crisis_exposures,
        max(ce.started_at) as last_exposure_at
    from {{ ref('stg_crm__crisis_affected_customers') }} as ac
    join {{ ref('stg_crm__crisis_events') }} as ce on ce.crisis_event_id = ac.crisis_event_id
    join as_of as a on ce.started_at < a.as_of_end
    group by ac.customer_id, a.as_of_date
),

f_activity as (
    select ev.customer_id, a.as_of_date, max(ev.activity_ts) as last_activity_at
    from {{ ref('int_customers__activity_events') }} as ev
    join as_of as a on ev.activity_ts < a.as_of_end
    group by ev.customer_id, a.as_of_date
)

select
    p.customer_id,
    p.as_of_date,
    p.customer_status,
    (p.as_of_date - {{ utc_date('p.registered_at') }}) as tenure_days,
    (p.as_of_date - {{ utc_date('coalesce(act.last_activity_at, p.registered_at)') }}) as days_inactive,
    (p.as_of_date - {{ utc_date('o.last_order_at') }}) as recency_days,
    coalesce(o.orders_30d, 0) as orders_30d,
    coalesce(o.orders_90d, 0) as orders_90d,
    coalesce(o.orders_365d, 0) as orders_365d,
    coalesce(o.orders_lifetime, 0) as orders_lifetime,
    coalesce(o.revenue_30d, 0)::double precision as revenue_30d,
    coalesce(o.revenue_90d, 0)::double precision as revenue_90d,
    coalesce(o.revenue_365d, 0)::double precision as revenue_365d,
    (o.revenue_365d / nullif(o.orders_365d, 0))::double precision as avg_order_value_365d,
    coalesce(i.logins_7d, 0) as logins_7d,
    coalesce(i.logins_30d, 0) as logins_30d,
    coalesce(i.logins_90d, 0) as logins_90d,
    coalesce(i.app_events_7d, 0) as app_events_7d,
    coalesce(i.app_events_30d, 0) as app_events_30d,
    coalesce(i.app_events_90d, 0) as app_events_90d,
    (i.events_30d / nullif(i.events_prior_60d / 2.0, 0))::double precision as activity_trend_30_vs_prior_60,
    coalesce(t.complaints_30d, 0) as complaints_30d,
    coalesce(t.complaints_90d, 0) as complaints_90d,
    coalesce(t.complaints_lifetime, 0) as complaints_lifetime,
    coalesce(t.technical_complaints_90d, 0) as technical_complaints_90d,
    coalesce(t.tickets_90d, 0) as tickets_90d,
    coalesce(t.open_tickets, 0) as open_tickets,
    coalesce(t.slow_responses_90d, 0) as slow_responses_90d,
    t.mean_frt_minutes_90d::double precision as mean_frt_minutes_90d,
    coalesce(s.surveys_answered_365d, 0) as surveys_answered_365d,
    s.csat_mean_365d::double precision as csat_mean_365d,
    s.last_nps_score::double precision as last_nps_score,
    coalesce(c.compensations_365d, 0) as compensations_365d,
    coalesce(c.compensation_amount_365d, 0)::double precision as compensation_amount_365d,
    (case when cr.crisis_exposures > 0 then 1 else 0 end) as crisis_affected,
    coalesce(cr.crisis_exposures, 0) as crisis_exposures,
    (p.as_of_date - {{ utc_date('cr.last_exposure_at') }}) as days_since_crisis_exposure
from population as p
left join f_orders as o on o.customer_id = p.customer_id and o.as_of_date = p.as_of_date
left join f_interactions as i on i.customer_id = p.customer_id and i.as_of_date = p.as_of_date
left join f_tickets as t on t.customer_id = p.customer_id and t.as_of_date = p.as_of_date
left join f_surveys as s on s.customer_id = p.customer_id and s.as_of_date = p.as_of_date
left join f_compensations as c on c.customer_id = p.customer_id and c.as_of_date = p.as_of_date
left join f_crisis as cr on cr.customer_id = p.customer_id and cr.as_of_date = p.as_of_date
left join f_activity as act on act.customer_id = p.customer_id and act.as_of_date = p.as_of_date
{%- endmacro %}
