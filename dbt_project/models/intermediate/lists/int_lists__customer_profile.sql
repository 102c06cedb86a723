{{ config(tags=["lists"], materialized="table", post_hook="analyze {{ this }}") }}
{#- One row per customer as of var('run_date') with everything the list rules read: value (CV), complaints
    (CM-06), churn score and band (CH-05, from marts.churn_bands), emotion and satisfaction (RL-14/15), country
    (RL-16 holidays) and the optional expertise_hint (RL-15 wording). No reason codes (CH-06): the profile is
    built before the candidates, whose reasons are computed after them; the lists read them from
    int_lists__customer_reasons.
    clv_estimate: scoring's BG/NBD CLV, else customer_value's, else revenue_365d; value_basis says which one a
    row used: 'clv' or 'revenue_365d' (CV-06). dominant_emotion, satisfaction_level and preferred_channel come
    from customer_value. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

cv as (
    select *
    from {{ ref('customer_value') }}
    where run_date = {{ run_date() }}
),

tiers as (
    select tier_code, tier_rank from {{ policy_rows('value_tiers', ['tier_code']) }} as t
),

complaints as (
    select customer_id, is_crisis_sensitive
    from {{ ref('customer_complaints') }}
    where run_date = {{ run_date() }}
),

scores as (
    select customer_id, churn_probability, clv_estimate, model_version, mlflow_run_id
    from {{ ref('stg_scoring__churn_scores') }}
    where run_date = {{ run_date() }}
),

bands as (
    select customer_id, churn_band, churn_band_rank
    from {{ ref('churn_bands') }}
    where run_date = {{ run_date() }}
),

{#- RL-16 purchase anniversary: the day of the first paid (not cancelled) order, from the lifetime activity
    (its first purchase day, the same orders and cut-off), not a min(order_ts) over every order each night:
    that aggregate was most of this model's 16.3 s at 1,000,000 customers (docs/scaling.md, "Session 33"). -#}
first_orders as (
    select customer_id, first_purchase_date as first_order_date
    from {{ ref('int_activity__customer_lifetime') }}
),

run_model as (
    select max(model_version) as model_version, max(mlflow_run_id) as mlflow_run_id from scores
),

profile as (
select
    cv.customer_id,
    cv.customer_status,
    cv.value_tier,
    t.tier_rank,
    cv.is_high_value,
    cv.revenue_365d,
    -- CV-06: the scoring step's BG/NBD x Gamma-Gamma CLV (model/clv.py), else the mart's segment-retention CLV
    coalesce(s.clv_estimate, cv.clv_estimate, cv.revenue_365d)::numeric(18, 2) as clv_estimate,
    case when coalesce(s.clv_estimate, cv.clv_estimate) is not null
         then 'clv' else 'revenue_365d' end::text as value_basis,
    cv.lifecycle_stage,
    cv.days_inactive,
    cv.tenure_days,
    cv.orders_lifetime,
    cv.last_activity_at,
    cv.registered_at,
    c.birth_month_day,
    c.country,
    c.expertise_hint,
    fo.first_order_date,
    coalesce(cc.is_crisis_sensitive, false) as is_crisis_sensitive,
    s.churn_probability,
    b.churn_band,
    b.churn_band_rank,
    cv.dominant_emotion_90d::text as dominant_emotion,
    cv.satisfaction_level::text as satisfaction_level,
    cv.preferred_channel::text as preferred_channel,
    coalesce(s.model_version, rm.model_version) as model_version,
    coalesce(s.mlflow_run_id, rm.mlflow_run_id) as mlflow_run_id
from cv
left join tiers as t on t.tier_code = cv.value_tier
left join {{ ref('stg_crm__customers') }} as c on c.customer_id = cv.customer_id
left join complaints as cc on cc.customer_id = cv.customer_id
left join scores as s on s.customer_id = cv.customer_id
left join bands as b on b.customer_id = cv.customer_id
left join first_orders as fo on fo.customer_id = cv.customer_id
cross join run_model as rm
)

select * from profile
