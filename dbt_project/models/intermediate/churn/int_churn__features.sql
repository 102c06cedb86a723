{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Churn features (seed_spec 3.5, CF-01..CF-14, CF-17, CF-18, CF-20), one row per (customer_id, as_of_date) of
    int_churn__population: every family model (int_churn__<family>, each point in time: only events before
    the end of as_of_date) joined to the population, with the flags, ratios and 0-for-missing the model
    reads. The one place a feature's final definition lives: churn_features (as_of_date = run_date) and
    churn_training_set (the training cutoffs) both select from here. Only customers + orders are needed;
    a family without rows gives 0 / null. Output: customer_id, as_of_date, customer_status (not a
    feature), then churn_feature_columns() (numeric; flags are 0/1 integers). -#}
with assembled as (
    select
        p.customer_id,
        p.as_of_date,
        p.as_of_end,
        p.customer_status,
        p.registered_date,
        a.orders_lifetime,
        a.last_order_date,
        a.last_login_date,
        a.last_activity_date,
        a.orders_30d,
        a.orders_90d,
        a.orders_prior_90d,
        a.orders_365d,
        a.revenue_30d,
        a.revenue_90d,
        a.revenue_prior_90d,
        a.revenue_365d,
        a.logins_7d,
        a.logins_30d,
        a.logins_90d,
        a.logins_prior_90d,
        a.app_events_7d,
        a.app_events_30d,
        a.app_events_90d,
        a.events_30d,
        a.events_prior_60d,
        a.visit_days_30d,
        a.visit_days_prior_90d,
        a.median_cycle_days,
        a.last_login_30d,
        a.max_inner_gap,
        v.r_score,
        v.f_score,
        v.m_score,
        v.is_high_value
    from {{ ref('int_churn__population') }} as p
    left join {{ ref('int_churn__activity') }} as a on a.customer_id = p.customer_id and a.as_of_date = p.as_of_date
    left join {{ ref('int_churn__value') }} as v on v.customer_id = p.customer_id and v.as_of_date = p.as_of_date
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
    r.is_high_value,
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
    (case when r.as_of_date - r.last_login_date >= {{ policy_param('no_login_streak_days', 'integer') }} then 1 else 0 end) as flag_no_login_streak,
    (case
        when r.last_login_date is null then null
        when r.last_login_30d is null then r.as_of_date - greatest(r.as_of_date - 30, r.registered_date - 1)
        else greatest(r.max_inner_gap, r.as_of_date - r.last_login_30d)
    end) as longest_no_login_streak_30d,
    -- CF-04
    (case when r.as_of_date - coalesce(r.last_activity_date, r.registered_date) = {{ policy_param('silence_wakeup_day', 'integer') }} then 1 else 0 end)
        as flag_silence_day7,
    (case when r.as_of_date - coalesce(r.last_activity_date, r.registered_date) >= {{ policy_param('winback_min_inactive_days', 'integer') }} then 1 else 0 end)
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
    (case when coalesce(t.complaints_sensitivity_window, 0) >= {{ policy_param('crisis_sensitive_min_complaints', 'integer') }} then 1 else 0 end)
        as is_crisis_sensitive,
    (case when coalesce(t.technical_complaints_window, 0) > 0 and r.is_high_value = 1 then 1 else 0 end)
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
    (case when s.last_nps_score <= {{ policy_param('nps_detractor_max') }} then 1 else 0 end) as last_nps_detractor,
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
    (case when cr.last_exposure_at >= r.as_of_end - make_interval(months => {{ policy_param('trust_repair_window_months', 'integer') }}) then 1 else 0 end)
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
from assembled as r
left join {{ ref('int_churn__tickets') }} as t on t.customer_id = r.customer_id and t.as_of_date = r.as_of_date
left join {{ ref('int_churn__sentiment') }} as se on se.customer_id = r.customer_id and se.as_of_date = r.as_of_date
left join {{ ref('int_churn__emotional') }} as em on em.customer_id = r.customer_id and em.as_of_date = r.as_of_date
left join {{ ref('int_churn__surveys') }} as s on s.customer_id = r.customer_id and s.as_of_date = r.as_of_date
left join {{ ref('int_churn__compensations') }} as c on c.customer_id = r.customer_id and c.as_of_date = r.as_of_date
left join {{ ref('int_churn__crisis') }} as cr on cr.customer_id = r.customer_id and cr.as_of_date = r.as_of_date
left join {{ ref('int_churn__purchase_cycle') }} as pc on pc.customer_id = r.customer_id and pc.as_of_date = r.as_of_date
left join {{ ref('int_churn__channel_mix') }} as cm on cm.customer_id = r.customer_id and cm.as_of_date = r.as_of_date
left join {{ ref('int_churn__risk_keywords') }} as kw on kw.customer_id = r.customer_id and kw.as_of_date = r.as_of_date
left join {{ ref('int_churn__signals') }} as sg on sg.customer_id = r.customer_id and sg.as_of_date = r.as_of_date
left join {{ ref('int_churn__marketing') }} as mk on mk.customer_id = r.customer_id and mk.as_of_date = r.as_of_date
left join {{ ref('int_churn__calendar') }} as cal on cal.as_of_date = r.as_of_date
cross join lateral (
    select
        (coalesce(r.orders_lifetime, 0) - coalesce(r.orders_90d, 0)) * 90.0
            / nullif(r.as_of_date - 90 - pc.first_purchase_date + 1, 0) as expected_90d
) as fz
