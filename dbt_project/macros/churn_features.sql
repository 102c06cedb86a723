{#- Point-in-time churn features (seed_spec 3.5, CF-01..CF-11 here, CF-02/CF-12..CF-14/CF-17/CF-18/CF-20 families in
    churn_feature_families.sql) for every customer registered on or before
    each as-of date of `as_of_dates_relation` (any relation or parenthesised subquery with an
    `as_of_date` column). Only events strictly before the end of the as-of date (UTC) are used, so the
    same SQL serves scoring (as_of_date = run_date) and training snapshots without leakage.
    Rows are the latest version as of run_date (fct_orders, fct_interactions,
    int_complaints__tickets_latest); timestamps, not statuses, decide what was known at the cutoff (a
    ticket resolved after the cutoff counts as open at it; a reopen counts only when the ticket's latest
    version was already exported before the cutoff).
    Scales with several cutoffs: daily pre-aggregates (int_activity__customer_days) are joined to the
    cutoffs on date ranges (<= 365 days back); lifetime values are summed per cutoff bucket and carried
    forward with a running window instead of re-joining the whole history to every cutoff.
    Only customers + orders are needed; missing optional tables give 0 / null features.
    Output: customer_id, as_of_date, customer_status (text, not a feature), then churn_feature_columns(),
    all numeric (flags are 0/1 integers). -#}

{% macro churn_feature_columns() -%}
    {{ return([
        'tenure_days', 'days_inactive', 'recency_days',
        'orders_30d', 'orders_90d', 'orders_365d', 'orders_lifetime',
        'revenue_30d', 'revenue_90d', 'revenue_365d', 'avg_order_value_365d',
        'r_score', 'f_score', 'm_score', 'is_high_value',
        'orders_prior_90d', 'revenue_prior_90d', 'frequency_trend_90d', 'monetary_trend_90d',
        'median_purchase_cycle_days', 'cycle_overdue_ratio',
        'logins_7d', 'logins_30d', 'logins_90d',
        'current_no_login_streak_days', 'flag_no_login_streak', 'longest_no_login_streak_30d',
        'flag_silence_day7', 'flag_inactive_90',
        'app_events_7d', 'app_events_30d', 'app_events_90d', 'activity_trend_30_vs_prior_60',
        'visit_days_30d', 'visit_trend_30_vs_prior_90', 'login_trend_30_vs_prior_90',
        'complaints_30d', 'complaints_90d', 'complaints_365d', 'complaints_lifetime', 'complaint_growth_90d',
        'technical_complaints_90d', 'is_crisis_sensitive', 'high_value_x_technical_complaint',
        'open_complaints', 'days_since_last_complaint',
        'tickets_90d', 'open_tickets', 'slow_responses_90d', 'mean_frt_minutes_90d', 'mean_ttr_hours_90d',
        'reopened_tickets_90d',
        'sentiment_mean_30d', 'sentiment_mean_90d', 'negative_share_90d', 'angry_count_90d',
        'sentiment_trend_90d', 'sentiment_volatility_90d', 'texts_90d', 'last_polarity_score',
        'emotional_balance',
        'surveys_answered_365d', 'csat_mean_365d', 'last_csat_score', 'last_nps_score', 'last_nps_detractor',
        'dissatisfied_after_revisit_365d', 'days_since_last_survey',
        'compensations_365d', 'compensation_amount_365d', 'second_round_compensations_365d',
        'mean_hours_to_compensation_365d',
        'crisis_affected', 'crisis_exposures', 'days_since_crisis_exposure', 'in_trust_repair_window'
    ] + churn_family_columns()) }}
{%- endmacro %}

{% macro churn_features(as_of_dates_relation) -%}
with as_of as (
    select
        d.as_of_date,
        {{ day_end('d.as_of_date') }} as as_of_end,
        lag(d.as_of_date) over (order by d.as_of_date) as prev_as_of_date
    from (select distinct x.as_of_date::date as as_of_date from {{ as_of_dates_relation }} as x) as d
),

feature_params as (
    select
        {{ policy_param('churn_slow_response_frt_minutes') }} as slow_frt_minutes,
        {{ policy_param('no_login_streak_days', 'integer') }} as no_login_streak_days,
        {{ policy_param('silence_wakeup_day', 'integer') }} as silence_wakeup_day,
        {{ policy_param('winback_min_inactive_days', 'integer') }} as winback_min_inactive_days,
        {{ policy_param('technical_complaint_window_days', 'integer') }} as technical_window_days,
        {{ policy_param('crisis_sensitive_min_complaints', 'integer') }} as sensitive_min_complaints,
        {{ policy_param('crisis_sensitive_window_days', 'integer') }} as sensitive_window_days,
        {{ policy_param('vip_annual_spend_threshold') }} as vip_threshold,
        {{ policy_param('value_top_share') }} as value_top_share,
        {{ policy_param('trust_repair_window_months', 'integer') }} as trust_repair_months,
        {{ policy_param('csat_satisfied_min') }} as csat_satisfied_min,
        {{ policy_param('nps_detractor_max') }} as nps_detractor_max
),

customers as (
    select customer_id, customer_status, registered_at, {{ utc_date('registered_at') }} as registered_date
    from {{ ref('stg_crm__customers') }}
),

population as (
    select c.customer_id, c.customer_status, c.registered_at, c.registered_date, a.as_of_date, a.as_of_end
    from customers as c
    join as_of as a on c.registered_at < a.as_of_end
),

days as (
    select * from {{ ref('int_activity__customer_days') }}
),

-- lifetime (CF-01, CF-03, CF-04): per cutoff bucket (prev cutoff, cutoff], carried forward per customer
buckets as (
    select
        d.customer_id,
        a.as_of_date,
        sum(d.paid_orders) as paid_orders,
        max(d.activity_date) filter (where d.paid_orders > 0) as last_order_date,
        max(d.activity_date) filter (where d.logins > 0) as last_login_date,
        max(d.activity_date) as last_activity_date
    from days as d
    join as_of as a
      on d.activity_date <= a.as_of_date
     and (a.prev_as_of_date is null or d.activity_date > a.prev_as_of_date)
    group by d.customer_id, a.as_of_date
),

lifetime as (
    select
        g.customer_id,
        g.as_of_date,
        sum(coalesce(b.paid_orders, 0)) over w as orders_lifetime,
        max(b.last_order_date) over w as last_order_date,
        max(b.last_login_date) over w as last_login_date,
        max(b.last_activity_date) over w as last_activity_date
    from (select c.customer_id, a.as_of_date from customers as c cross join as_of as a) as g
    left join buckets as b on b.customer_id = g.customer_id and b.as_of_date = g.as_of_date
    window w as (partition by g.customer_id order by g.as_of_date rows between unbounded preceding and current row)
),

-- windowed daily facts (CF-01..CF-05): orders over 365 days, interactions over 120 days
windowed as (
    select
        d.customer_id,
        a.as_of_date,
        coalesce(sum(d.paid_orders) filter (where a.as_of_date - d.activity_date < 30), 0) as orders_30d,
        coalesce(sum(d.paid_orders) filter (where a.as_of_date - d.activity_date < 90), 0) as orders_90d,
        coalesce(sum(d.paid_orders) filter (where a.as_of_date - d.activity_date between 90 and 179), 0) as orders_prior_90d,
        coalesce(sum(d.paid_orders), 0) as orders_365d,
        coalesce(sum(d.paid_revenue) filter (where a.as_of_date - d.activity_date < 30), 0) as revenue_30d,
        coalesce(sum(d.paid_revenue) filter (where a.as_of_date - d.activity_date < 90), 0) as revenue_90d,
        coalesce(sum(d.paid_revenue) filter (where a.as_of_date - d.activity_date between 90 and 179), 0) as revenue_prior_90d,
        coalesce(sum(d.paid_revenue), 0) as revenue_365d,
        coalesce(sum(d.logins) filter (where a.as_of_date - d.activity_date < 7), 0) as logins_7d,
        coalesce(sum(d.logins) filter (where a.as_of_date - d.activity_date < 30), 0) as logins_30d,
        coalesce(sum(d.logins) filter (where a.as_of_date - d.activity_date < 90), 0) as logins_90d,
        coalesce(sum(d.logins) filter (where a.as_of_date - d.activity_date between 30 and 119), 0) as logins_prior_90d,
        coalesce(sum(d.app_events) filter (where a.as_of_date - d.activity_date < 7), 0) as app_events_7d,
        coalesce(sum(d.app_events) filter (where a.as_of_date - d.activity_date < 30), 0) as app_events_30d,
        coalesce(sum(d.app_events) filter (where a.as_of_date - d.activity_date < 90), 0) as app_events_90d,
        coalesce(sum(d.logins + d.app_events) filter (where a.as_of_date - d.activity_date < 30), 0) as events_30d,
        coalesce(sum(d.logins + d.app_events) filter (where a.as_of_date - d.activity_date between 30 and 89), 0) as events_prior_60d,
        count(*) filter (where d.logins + d.app_events > 0 and a.as_of_date - d.activity_date < 30) as visit_days_30d,
        count(*) filter (where d.logins + d.app_events > 0 and a.as_of_date - d.activity_date between 30 and 119) as visit_days_prior_90d
    from days as d
    join as_of as a
      on d.activity_date <= a.as_of_date
     and d.activity_date > a.as_of_date - 365
     and (d.paid_orders > 0 or d.activity_date > a.as_of_date - 120)
    group by d.customer_id, a.as_of_date
),

-- CF-02 purchase cycle: gaps between consecutive purchase days, each known from its later purchase day
purchase_gaps as (
    select
        customer_id,
        activity_date,
        activity_date - lag(activity_date) over (partition by customer_id order by activity_date) as gap_days
    from days
    where paid_orders > 0
),

cycles as (
    select g.customer_id, a.as_of_date, percentile_cont(0.5) within group (order by g.gap_days) as median_cycle_days
    from purchase_gaps as g
    join as_of as a on g.activity_date <= a.as_of_date
    where g.gap_days is not null
    group by g.customer_id, a.as_of_date
),

-- feature families beyond CF-01..CF-11 (macros/churn_feature_families.sql)
purchase_days as (
    {{ churn_purchase_day_rows() }}
),

f_purchase_cycle as (
    {{ churn_purchase_cycle_family() }}
),

f_channel_mix as (
    {{ churn_channel_mix_family() }}
),

f_keywords as (
    {{ churn_risk_keyword_family() }}
),

f_signals as (
    {{ churn_interaction_signal_family() }}
),

f_marketing as (
    {{ churn_marketing_family() }}
),

f_calendar as (
    {{ churn_calendar_family() }}
),

-- CF-03 longest run of days without a login inside the last 30 days (window starts at registration)
login_days_30 as (
    select
        d.customer_id,
        a.as_of_date,
        d.activity_date,
        lag(d.activity_date) over (partition by d.customer_id, a.as_of_date order by d.activity_date) as prev_login_date
    from days as d
    join as_of as a
      on d.activity_date <= a.as_of_date
     and d.activity_date > a.as_of_date - 30
    where d.logins > 0
),

login_gaps_30 as (
    select
        l.customer_id,
        l.as_of_date,
        max(l.activity_date) as last_login_30d,
        max(l.activity_date - coalesce(l.prev_login_date, greatest(l.as_of_date - 30, c.registered_date - 1)) - 1) as max_inner_gap
    from login_days_30 as l
    join customers as c on c.customer_id = l.customer_id
    group by l.customer_id, l.as_of_date
),

f_tickets as (
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
              and (p.sensitive_window_days is null
                   or t.created_at >= a.as_of_end - make_interval(days => p.sensitive_window_days))
        ) as complaints_sensitivity_window,
        count(*) filter (
            where t.ticket_type = 'complaint'
              and t.created_at >= a.as_of_end - interval '90 days'
              and (t.category_l1 in ('function', 'performance', 'security') or t.complaint_type = 'technical')
        ) as technical_complaints_90d,
        count(*) filter (
            where t.ticket_type = 'complaint'
              and t.created_at >= a.as_of_end - make_interval(days => p.technical_window_days)
              and (t.category_l1 in ('function', 'performance', 'security') or t.complaint_type = 'technical')
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
    join as_of as a on t.created_at < a.as_of_end
    cross join feature_params as p
    where t.customer_id is not null
    group by t.customer_id, a.as_of_date
),

f_sentiment as (
    select
        s.customer_id,
        a.as_of_date,
        avg(s.polarity_score) filter (where s.text_ts >= a.as_of_end - interval '30 days') as sentiment_mean_30d,
        avg(s.polarity_score) as sentiment_mean_90d,
        avg(case when s.polarity = 'negative' then 1.0 else 0.0 end) filter (where s.polarity is not null) as negative_share_90d,
        count(*) filter (where s.emotion_class = 'angry') as angry_count_90d,
        regr_slope(s.polarity_score, extract(epoch from s.text_ts) / 86400.0) as sentiment_trend_90d,
        stddev_samp(s.polarity_score) as sentiment_volatility_90d,
        count(*) as texts_90d,
        (array_agg(s.polarity_score order by s.text_ts desc, s.source_id desc)
            filter (where s.polarity_score is not null))[1] as last_polarity_score
    from {{ ref('int_activity__text_sentiment') }} as s
    join as_of as a
      on s.text_ts < a.as_of_end
     and s.text_ts >= a.as_of_end - interval '90 days'
    group by s.customer_id, a.as_of_date
),

f_emotional as (
    select e.customer_id, a.as_of_date, sum(e.weight) as emotional_balance
    from {{ ref('int_activity__emotional_events') }} as e
    join as_of as a on e.event_ts < a.as_of_end
    group by e.customer_id, a.as_of_date
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
            filter (where s.survey_type = 'CSAT' and s.score is not null))[1] as last_csat_score,
        (array_agg(s.score order by s.responded_at desc, s.survey_id desc)
            filter (where s.survey_type = 'NPS' and s.score is not null))[1] as last_nps_score,
        count(*) filter (
            where s.trigger_type = 'post_resolution_revisit'
              and s.responded_at >= a.as_of_end - interval '365 days'
              and ((s.survey_type = 'CSAT' and s.score < p.csat_satisfied_min)
                   or (s.survey_type = 'NPS' and s.score <= p.nps_detractor_max))
        ) as dissatisfied_after_revisit_365d,
        max(s.responded_at) as last_survey_at
    from {{ ref('stg_crm__surveys') }} as s
    join as_of as a on s.responded_at < a.as_of_end
    cross join feature_params as p
    group by s.customer_id, a.as_of_date
),

f_compensations as (
    select
        c.customer_id,
        a.as_of_date,
        count(*) as compensations_365d,
        coalesce(sum(c.amount), 0) as compensation_amount_365d,
        count(*) filter (where c.round_no >= 2) as second_round_compensations_365d,
        avg({{ minutes_between('t.created_at', 'c.issued_at') }} / 60.0) filter (where t.created_at <= c.issued_at)
            as mean_hours_to_compensation_365d
    from {{ ref('stg_crm__compensations') }} as c
    join as_of as a
      on c.issued_at < a.as_of_end
     and c.issued_at >= a.as_of_end - interval '365 days'
    left join {{ ref('int_complaints__tickets_latest') }} as t on t.ticket_id = c.ticket_id
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

assembled as (
    select
        p.customer_id,
        p.as_of_date,
        p.as_of_end,
        p.customer_status,
        p.registered_date,
        lt.orders_lifetime,
        lt.last_order_date,
        lt.last_login_date,
        lt.last_activity_date,
        w.orders_30d,
        w.orders_90d,
        w.orders_prior_90d,
        w.orders_365d,
        w.revenue_30d,
        w.revenue_90d,
        w.revenue_prior_90d,
        w.revenue_365d,
        w.logins_7d,
        w.logins_30d,
        w.logins_90d,
        w.logins_prior_90d,
        w.app_events_7d,
        w.app_events_30d,
        w.app_events_90d,
        w.events_30d,
        w.events_prior_60d,
        w.visit_days_30d,
        w.visit_days_prior_90d,
        cy.median_cycle_days,
        lg.last_login_30d,
        lg.max_inner_gap
    from population as p
    left join lifetime as lt on lt.customer_id = p.customer_id and lt.as_of_date = p.as_of_date
    left join windowed as w on w.customer_id = p.customer_id and w.as_of_date = p.as_of_date
    left join cycles as cy on cy.customer_id = p.customer_id and cy.as_of_date = p.as_of_date
    left join login_gaps_30 as lg on lg.customer_id = p.customer_id and lg.as_of_date = p.as_of_date
),

ranked as (
    select
        x.*,
        ntile(5) over (partition by x.as_of_date order by x.as_of_date - x.last_order_date desc nulls first, x.customer_id desc) as r_score,
        ntile(5) over (partition by x.as_of_date order by coalesce(x.orders_365d, 0), x.customer_id desc) as f_score,
        ntile(5) over (partition by x.as_of_date order by coalesce(x.revenue_365d, 0), x.customer_id desc) as m_score,
        percent_rank() over (partition by x.as_of_date order by coalesce(x.revenue_365d, 0) desc, x.customer_id) as revenue_rank_pct
    from assembled as x
)

select
    r.customer_id,
    r.as_of_date,
    r.customer_status,
    -- CF-19 / CF-04 / CF-01
    (r.as_of_date - r.registered_date) as tenure_days,
    (r.as_of_date - coalesce(r.last_activity_date, r.registered_date)) as days_inactive,
    (r.as_of_date - r.last_order_date) as recency_days,
    coalesce(r.orders_30d, 0)::integer as orders_30d,
    coalesce(r.orders_90d, 0)::integer as orders_90d,
    coalesce(r.orders_365d, 0)::integer as orders_365d,
    coalesce(r.orders_lifetime, 0)::integer as orders_lifetime,
    coalesce(r.revenue_30d, 0)::double precision as revenue_30d,
    coalesce(r.revenue_90d, 0)::double precision as revenue_90d,
    coalesce(r.revenue_365d, 0)::double precision as revenue_365d,
    (r.revenue_365d / nullif(r.orders_365d, 0))::double precision as avg_order_value_365d,
    r.r_score::integer as r_score,
    r.f_score::integer as f_score,
    r.m_score::integer as m_score,
    (case when coalesce(r.revenue_365d, 0) > fp.vip_threshold
            or (coalesce(r.revenue_365d, 0) > 0 and r.revenue_rank_pct <= fp.value_top_share) then 1 else 0 end)
        as is_high_value,
    -- CF-02
    coalesce(r.orders_prior_90d, 0)::integer as orders_prior_90d,
    coalesce(r.revenue_prior_90d, 0)::double precision as revenue_prior_90d,
    (r.orders_90d / nullif(r.orders_prior_90d, 0)::double precision) as frequency_trend_90d,
    (r.revenue_90d / nullif(r.revenue_prior_90d, 0))::double precision as monetary_trend_90d,
    r.median_cycle_days::double precision as median_purchase_cycle_days,
    ((r.as_of_date - r.last_order_date) / nullif(r.median_cycle_days, 0))::double precision as cycle_overdue_ratio,
    -- CF-03
    coalesce(r.logins_7d, 0)::integer as logins_7d,
    coalesce(r.logins_30d, 0)::integer as logins_30d,
    coalesce(r.logins_90d, 0)::integer as logins_90d,
    (r.as_of_date - r.last_login_date) as current_no_login_streak_days,
    (case when r.as_of_date - r.last_login_date >= fp.no_login_streak_days then 1 else 0 end) as flag_no_login_streak,
    (case
        when r.last_login_date is null then null
        when r.last_login_30d is null then r.as_of_date - greatest(r.as_of_date - 30, r.registered_date - 1)
        else greatest(r.max_inner_gap, r.as_of_date - r.last_login_30d)
    end) as longest_no_login_streak_30d,
    -- CF-04
    (case when r.as_of_date - coalesce(r.last_activity_date, r.registered_date) = fp.silence_wakeup_day then 1 else 0 end)
        as flag_silence_day7,
    (case when r.as_of_date - coalesce(r.last_activity_date, r.registered_date) >= fp.winback_min_inactive_days then 1 else 0 end)
        as flag_inactive_90,
    -- CF-05
    coalesce(r.app_events_7d, 0)::integer as app_events_7d,
    coalesce(r.app_events_30d, 0)::integer as app_events_30d,
    coalesce(r.app_events_90d, 0)::integer as app_events_90d,
    (r.events_30d / nullif(r.events_prior_60d / 2.0, 0))::double precision as activity_trend_30_vs_prior_60,
    coalesce(r.visit_days_30d, 0)::integer as visit_days_30d,
    (r.visit_days_30d / nullif(r.visit_days_prior_90d / 3.0, 0))::double precision as visit_trend_30_vs_prior_90,
    (r.logins_30d / nullif(r.logins_prior_90d / 3.0, 0))::double precision as login_trend_30_vs_prior_90,
    -- CF-06
    coalesce(t.complaints_30d, 0)::integer as complaints_30d,
    coalesce(t.complaints_90d, 0)::integer as complaints_90d,
    coalesce(t.complaints_365d, 0)::integer as complaints_365d,
    coalesce(t.complaints_lifetime, 0)::integer as complaints_lifetime,
    (coalesce(t.complaints_90d, 0) - coalesce(t.complaints_prior_90d, 0))::integer as complaint_growth_90d,
    coalesce(t.technical_complaints_90d, 0)::integer as technical_complaints_90d,
    (case when coalesce(t.complaints_sensitivity_window, 0) >= fp.sensitive_min_complaints then 1 else 0 end)
        as is_crisis_sensitive,
    (case when coalesce(t.technical_complaints_window, 0) > 0
           and (coalesce(r.revenue_365d, 0) > fp.vip_threshold
                or (coalesce(r.revenue_365d, 0) > 0 and r.revenue_rank_pct <= fp.value_top_share)) then 1 else 0 end)
        as high_value_x_technical_complaint,
    coalesce(t.open_complaints, 0)::integer as open_complaints,
    (r.as_of_date - {{ utc_date('t.last_complaint_at') }}) as days_since_last_complaint,
    -- CF-08
    coalesce(t.tickets_90d, 0)::integer as tickets_90d,
    coalesce(t.open_tickets, 0)::integer as open_tickets,
    coalesce(t.slow_responses_90d, 0)::integer as slow_responses_90d,
    t.mean_frt_minutes_90d::double precision as mean_frt_minutes_90d,
    t.mean_ttr_hours_90d::double precision as mean_ttr_hours_90d,
    coalesce(t.reopened_tickets_90d, 0)::integer as reopened_tickets_90d,
    -- CF-07
    se.sentiment_mean_30d::double precision as sentiment_mean_30d,
    se.sentiment_mean_90d::double precision as sentiment_mean_90d,
    se.negative_share_90d::double precision as negative_share_90d,
    coalesce(se.angry_count_90d, 0)::integer as angry_count_90d,
    se.sentiment_trend_90d::double precision as sentiment_trend_90d,
    se.sentiment_volatility_90d::double precision as sentiment_volatility_90d,
    coalesce(se.texts_90d, 0)::integer as texts_90d,
    se.last_polarity_score::double precision as last_polarity_score,
    coalesce(em.emotional_balance, 0)::double precision as emotional_balance,
    -- CF-09
    coalesce(s.surveys_answered_365d, 0)::integer as surveys_answered_365d,
    s.csat_mean_365d::double precision as csat_mean_365d,
    s.last_csat_score::double precision as last_csat_score,
    s.last_nps_score::double precision as last_nps_score,
    (case when s.last_nps_score <= fp.nps_detractor_max then 1 else 0 end) as last_nps_detractor,
    coalesce(s.dissatisfied_after_revisit_365d, 0)::integer as dissatisfied_after_revisit_365d,
    (r.as_of_date - {{ utc_date('s.last_survey_at') }}) as days_since_last_survey,
    -- CF-10
    coalesce(c.compensations_365d, 0)::integer as compensations_365d,
    coalesce(c.compensation_amount_365d, 0)::double precision as compensation_amount_365d,
    coalesce(c.second_round_compensations_365d, 0)::integer as second_round_compensations_365d,
    c.mean_hours_to_compensation_365d::double precision as mean_hours_to_compensation_365d,
    -- CF-11
    (case when cr.crisis_exposures > 0 then 1 else 0 end) as crisis_affected,
    coalesce(cr.crisis_exposures, 0)::integer as crisis_exposures,
    (r.as_of_date - {{ utc_date('cr.last_exposure_at') }}) as days_since_crisis_exposure,
    (case when cr.last_exposure_at >= r.as_of_end - make_interval(months => fp.trust_repair_months) then 1 else 0 end)
        as in_trust_repair_window,
    -- CF-02 / CF-14 purchase cycle and own baseline (per purchase day)
    coalesce(pc.purchase_days_lifetime, 0)::integer as purchase_days_lifetime,
    (r.as_of_date - pc.first_purchase_date) as days_since_first_purchase,
    pc.gap_mean_days::double precision as gap_mean_days,
    pc.gap_sd_days::double precision as gap_sd_days,
    pc.gap_max_days as gap_max_days,
    pc.last_gap_days as last_gap_days,
    ((r.as_of_date - r.last_order_date) / nullif(pc.gap_mean_days, 0))::double precision as recency_vs_mean_gap,
    ((r.as_of_date - r.last_order_date) / nullif(pc.gap_max_days, 0)::double precision) as recency_vs_max_gap,
    ((pc.purchase_days_lifetime - 1) * 30.0 / nullif(r.as_of_date - pc.first_purchase_date, 0))::double precision
        as purchase_days_per_30d,
    pc.purchase_amount_z_last::double precision as purchase_amount_z_last,
    -- CF-14 orders in the last 90 days against the customer's own rate before them (Poisson z-score)
    (case
        when r.as_of_date - 90 - pc.first_purchase_date >= 0
         and coalesce(r.orders_lifetime, 0) - coalesce(r.orders_90d, 0) > 0
        then (coalesce(r.orders_90d, 0) - fz.expected_90d) / sqrt(fz.expected_90d)
    end)::double precision as frequency_z_90d,
    cm.channel_mix_change_90d::double precision as channel_mix_change_90d,
    -- CF-12
    coalesce(kw.risk_keyword_messages_30d, 0)::integer as risk_keyword_messages_30d,
    -- CF-13
    coalesce(sg.return_policy_views_7d, 0)::integer as return_policy_views_7d,
    coalesce(sg.return_policy_views_30d, 0)::integer as return_policy_views_30d,
    -- CF-17
    coalesce(mk.marketing_contacts_30d, 0)::integer as marketing_contacts_30d,
    mk.marketing_open_rate_90d::double precision as marketing_open_rate_90d,
    mk.marketing_response_rate_90d::double precision as marketing_response_rate_90d,
    coalesce(mk.marketing_opted_out, 0)::integer as marketing_opted_out,
    -- CF-18
    coalesce(cal.in_crisis_period, 0)::integer as in_crisis_period,
    -- CF-20
    sg.failed_login_share_30d::double precision as failed_login_share_30d,
    (sg.failed_login_share_30d - sg.failed_login_share_prior_90d)::double precision as failed_login_share_change_30d
from ranked as r
cross join feature_params as fp
left join f_tickets as t on t.customer_id = r.customer_id and t.as_of_date = r.as_of_date
left join f_sentiment as se on se.customer_id = r.customer_id and se.as_of_date = r.as_of_date
left join f_emotional as em on em.customer_id = r.customer_id and em.as_of_date = r.as_of_date
left join f_surveys as s on s.customer_id = r.customer_id and s.as_of_date = r.as_of_date
left join f_compensations as c on c.customer_id = r.customer_id and c.as_of_date = r.as_of_date
left join f_crisis as cr on cr.customer_id = r.customer_id and cr.as_of_date = r.as_of_date
left join f_purchase_cycle as pc on pc.customer_id = r.customer_id and pc.as_of_date = r.as_of_date
left join f_channel_mix as cm on cm.customer_id = r.customer_id and cm.as_of_date = r.as_of_date
left join f_keywords as kw on kw.customer_id = r.customer_id and kw.as_of_date = r.as_of_date
left join f_signals as sg on sg.customer_id = r.customer_id and sg.as_of_date = r.as_of_date
left join f_marketing as mk on mk.customer_id = r.customer_id and mk.as_of_date = r.as_of_date
left join f_calendar as cal on cal.as_of_date = r.as_of_date
cross join lateral (
    select
        (coalesce(r.orders_lifetime, 0) - coalesce(r.orders_90d, 0)) * 90.0
            / nullif(r.as_of_date - 90 - pc.first_purchase_date + 1, 0) as expected_90d
) as fz
{%- endmacro %}
