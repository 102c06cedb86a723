{#- Customer-value mart (CV-01..CV-08, CV-10, CV-11, CV-12, CV-13, CV-16): one row per customer per run_date.
    Tiers (2.2 / CV-03): T1_DIAMOND when annual_spend > value_tiers.min_annual_spend; T2_GOLD when not
    T1 and revenue_rank_pct <= value_tiers.top_revenue_share; T3_REGULAR otherwise.
    Lifecycle (2.3 / CV-07), first match wins: new (only when new_customer_days is set) > lapsed
    (>= winback_min_inactive_days inactive) > decline (spend-trend branch: spend_trend_90d <
    lifecycle_decline_spend_trend_max, disabled while unset; the churn-band branch needs the night's
    score, which exists only after the marts, so it is applied in the lists layer) > silent
    (>= silence_wakeup_day) > growth / maturity (disabled while their [U] cut-offs are unset) > active.
    CV-06 CLV from int_customer_value__clv (null while clv_horizon_months is unset). -#}
with base as (
    select * from {{ ref('int_customer_value__ranked') }}
),

clv as (
    select * from {{ ref('int_customer_value__clv') }}
),

profile as (
    select * from {{ ref('int_customer_value__profile') }}
),

emotional as (
    select * from {{ ref('int_customer_value__emotional') }}
),

tiers as (
    select * from {{ policy_rows('value_tiers', ['tier_code']) }} as t
),

params as (
    select
        {{ policy_param('value_top_share') }} as value_top_share,
        {{ policy_param('vip_annual_spend_threshold') }} as vip_annual_spend_threshold,
        {{ policy_param('new_customer_days', 'integer') }} as new_customer_days,
        {{ policy_param('silence_wakeup_day', 'integer') }} as silence_wakeup_day,
        {{ policy_param('winback_min_inactive_days', 'integer') }} as winback_min_inactive_days,
        {{ policy_param('lifecycle_decline_spend_trend_max') }} as decline_spend_trend_max,
        {{ policy_param('lifecycle_growth_spend_trend_min') }} as growth_spend_trend_min,
        {{ policy_param('lifecycle_maturity_min_tenure_days', 'integer') }} as maturity_min_tenure_days,
        {{ policy_param('potential_value_top_share') }} as potential_value_top_share,
        (select min_annual_spend from tiers where tier_code = 'T1_DIAMOND') as t1_min_annual_spend,
        (select top_revenue_share from tiers where tier_code = 'T2_GOLD') as t2_top_revenue_share
),

measures as (
    select
        b.*,
        b.revenue_window as revenue_365d,
        b.revenue_window as annual_spend,
        {{ run_date() }} - {{ utc_date('b.registered_at') }} as tenure_days,
        coalesce(b.last_activity_at, b.registered_at) as activity_anchor_at,
        (b.revenue_90d / nullif(b.revenue_prior_90d, 0))::numeric(12, 4) as spend_trend_90d
    from base as b
),

classified as (
    select
        m.*,
        {{ run_date() }} - {{ utc_date('m.activity_anchor_at') }} as days_inactive,
        coalesce(m.revenue_rank_pct <= p.value_top_share, false) as is_top20,
        m.annual_spend > p.vip_annual_spend_threshold as is_vip,
        case
            when m.annual_spend > p.t1_min_annual_spend then 'T1_DIAMOND'
            when m.revenue_rank_pct <= p.t2_top_revenue_share then 'T2_GOLD'
            else 'T3_REGULAR'
        end as value_tier,
        p.new_customer_days,
        p.silence_wakeup_day,
        p.winback_min_inactive_days,
        p.decline_spend_trend_max,
        p.growth_spend_trend_min,
        p.maturity_min_tenure_days,
        p.potential_value_top_share
    from measures as m
    cross join params as p
),

valued as (
    select
        c.*,
        v.clv_estimate,
        v.clv_expected_active_months,
        v.clv_segment,
        (v.clv_estimate - c.revenue_365d)::numeric(18, 2) as potential_contribution,
        case
            when c.customer_status = 'active' and v.clv_estimate is not null
             and c.value_tier not in ('T1_DIAMOND', 'T2_GOLD')
            then percent_rank() over (
                partition by (c.customer_status = 'active' and v.clv_estimate is not null
                              and c.value_tier not in ('T1_DIAMOND', 'T2_GOLD'))
                order by v.clv_estimate - c.revenue_365d desc, c.customer_id)
        end as potential_rank_pct
    from classified as c
    left join clv as v on v.customer_id = c.customer_id
)

select
    {{ run_date() }} as run_date,
    v.customer_id,
    v.customer_status,
    v.registered_at,
    v.tenure_days,
    v.revenue_365d,
    v.annual_spend,
    v.revenue_rank_pct,
    v.is_top20,
    v.is_vip,
    v.value_tier,
    v.value_tier in ('T1_DIAMOND', 'T2_GOLD') as is_high_value,
    v.recency_days,
    v.orders_window as frequency,
    v.revenue_window as monetary,
    v.r_score,
    v.f_score,
    v.m_score,
    case when v.r_score is not null then concat(v.r_score, v.f_score, v.m_score) end as rfm_cell,
    v.orders_lifetime,
    v.last_order_at,
    v.last_activity_at,
    v.days_inactive,
    case
        when v.new_customer_days is not null and v.tenure_days < v.new_customer_days then 'new'
        when v.days_inactive >= v.winback_min_inactive_days then 'lapsed'
        when v.decline_spend_trend_max is not null and v.spend_trend_90d < v.decline_spend_trend_max then 'decline'
        when v.days_inactive >= v.silence_wakeup_day then 'silent'
        when v.maturity_min_tenure_days is not null and v.growth_spend_trend_min is not null
         and v.tenure_days < v.maturity_min_tenure_days and v.spend_trend_90d >= v.growth_spend_trend_min
            then 'growth'
        when v.maturity_min_tenure_days is not null and v.tenure_days >= v.maturity_min_tenure_days then 'maturity'
        else 'active'
    end as lifecycle_stage,
    -- CV-05 economic-value components
    (v.revenue_365d / nullif(v.orders_window, 0))::numeric(18, 2) as aov_365d,
    (coalesce(v.purchase_months_12m, 0) / 12.0)::numeric(6, 4) as retention_rate_12m,
    v.revenue_90d,
    v.revenue_prior_90d,
    v.spend_trend_90d,
    v.median_purchase_cycle_days,
    -- CV-06 CLV
    v.clv_estimate,
    v.clv_expected_active_months::numeric(8, 2) as clv_expected_active_months,
    v.clv_segment,
    v.potential_contribution,
    -- CV-08 dynamic tags (churn_risk is applied in the lists layer, after scoring)
    case
        when v.potential_value_top_share is null or v.clv_estimate is null then null
        else coalesce(v.potential_rank_pct <= v.potential_value_top_share, false)
    end as is_potential,
    pr.is_crisis_sensitive,
    -- CV-11 emotional account
    pr.emotional_balance,
    pr.emotional_deposits,
    pr.emotional_overdrafts,
    -- CV-12 emotion profile
    pr.dominant_emotion_90d,
    pr.sentiment_mean_90d,
    pr.texts_90d,
    pr.satisfaction_level,
    -- CV-10 emotional value score and cluster (int_customer_value__emotional; null without gated labels)
    ev.cev_score,
    ev.cev_cluster,
    ev.emotional_engagement,
    -- CV-13 communication preferences
    pr.preferred_channel,
    pr.preferred_language,
    -- CV-16 crisis exposure
    pr.affected_by_crisis,
    pr.last_crisis_event_id,
    pr.last_crisis_type,
    pr.days_since_crisis_exposure,
    pr.in_trust_repair_window,
    {{ policy_version() }} as policy_version
from valued as v
left join profile as pr on pr.customer_id = v.customer_id
left join emotional as ev on ev.customer_id = v.customer_id
