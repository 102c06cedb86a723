{#- Customer-value mart (CV-01..CV-04, CV-07): one row per customer per run_date.
    Tiers (2.2 / CV-03): T1_DIAMOND when annual_spend > value_tiers.min_annual_spend; T2_GOLD when not
    T1 and revenue_rank_pct <= value_tiers.top_revenue_share; T3_REGULAR otherwise.
    Lifecycle (2.3 / CV-07): new (only when new_customer_days is set) > active (< silence_wakeup_day
    days inactive) > silent (< winback_min_inactive_days) > lapsed. `decline` / `growth` / `maturity`
    need [U] thresholds and are not assigned yet. -#}
with base as (
    select * from {{ ref('int_customer_value__ranked') }}
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
        (select min_annual_spend from tiers where tier_code = 'T1_DIAMOND') as t1_min_annual_spend,
        (select top_revenue_share from tiers where tier_code = 'T2_GOLD') as t2_top_revenue_share
),

measures as (
    select
        b.*,
        b.revenue_window as revenue_365d,
        b.revenue_window as annual_spend,
        {{ run_date() }} - {{ utc_date('b.registered_at') }} as tenure_days,
        coalesce(b.last_activity_at, b.registered_at) as activity_anchor_at
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
        p.winback_min_inactive_days
    from measures as m
    cross join params as p
)

select
    {{ run_date() }} as run_date,
    customer_id,
    customer_status,
    registered_at,
    tenure_days,
    revenue_365d,
    annual_spend,
    revenue_rank_pct,
    is_top20,
    is_vip,
    value_tier,
    value_tier in ('T1_DIAMOND', 'T2_GOLD') as is_high_value,
    recency_days,
    orders_window as frequency,
    revenue_window as monetary,
    r_score,
    f_score,
    m_score,
    case when r_score is not null then concat(r_score, f_score, m_score) end as rfm_cell,
    orders_lifetime,
    last_order_at,
    last_activity_at,
    days_inactive,
    case
        when new_customer_days is not null and tenure_days < new_customer_days then 'new'
        when days_inactive < silence_wakeup_day then 'active'
        when days_inactive < winback_min_inactive_days then 'silent'
        else 'lapsed'
    end as lifecycle_stage,
    {{ policy_version() }} as policy_version
from classified
