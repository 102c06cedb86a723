{#- Retention candidate list for var('run_date') (seed_spec 3.7), rebuilt each run in lists_build and
    published by the platform after validation. One row per (customer, rule):
      RL-01 win-back: days_inactive >= winback_min_inactive_days (and < winback_max_inactive_days when
            set), >= 1 paid order; crisis mode (an active crisis event) switches to crisis_action_code.
      RL-02 day-7 wake-up: silence_wakeup_day <= days_inactive <= silence_wakeup_day + wakeup_catchup_days,
            unless a wake_up contact already happened since the last activity.
      RL-03 high churn risk x high value: churn_probability >= churn_band_high_min and tier T1/T2
            (disabled while churn_band_high_min is unset).
    Only active customers, only enabled rules; an enabled rule with an unset parameter fails the build.
    Channel: value_tiers.retention_channel when RL-05 (tier treatment) is enabled, else the rule's first
    channel. Rank: expected value at risk = revenue_365d (CLV proxy) x churn_probability (lapsed customers
    outside the scoring population count as fully at risk), then rule priority, then customer_id. -#}
with customers as (
    select *
    from {{ ref('customer_value') }}
    where run_date = {{ run_date() }}
      and customer_status = 'active'
),

scores as (
    select customer_id, churn_probability, model_version
    from {{ ref('stg_scoring__churn_scores') }}
    where run_date = {{ run_date() }}
),

run_model as (
    select max(model_version) as model_version from scores
),

rules as (
    select *
    from {{ policy_rows('retention_rules', ['rule_code']) }} as r
    where enabled
),

tiers as (
    select * from {{ policy_rows('value_tiers', ['tier_code']) }} as t
),

params as (
    select
        {{ policy_param('winback_min_inactive_days', 'integer') }} as winback_min_inactive_days,
        {{ policy_param('winback_max_inactive_days', 'integer') }} as winback_max_inactive_days,
        {{ policy_param('silence_wakeup_day', 'integer') }} as silence_wakeup_day,
        {{ policy_param('wakeup_catchup_days', 'integer') }} as wakeup_catchup_days,
        {{ policy_param('churn_band_high_min', 'double precision') }} as churn_band_high_min,
        exists (
            select 1 from {{ ref('stg_crm__crisis_events') }} as ce
            where ce.started_at < {{ run_end() }}
              and (ce.resolved_at is null or ce.resolved_at >= {{ run_end() }})
        ) as is_crisis_mode,
        exists (select 1 from rules where rule_code = 'RL-05') as tier_treatment_enabled
),

wakeup_contacted as (
    select distinct c.customer_id
    from {{ ref('stg_crm__contacts') }} as c
    join customers as cv on cv.customer_id = c.customer_id
    where c.purpose = 'wake_up'
      and c.contact_ts < {{ run_end() }}
      and c.contact_ts >= coalesce(cv.last_activity_at, cv.registered_at)
),

candidates as (
    select cv.customer_id, 'RL-01' as rule_code
    from customers as cv
    cross join params as p
    where cv.days_inactive >= p.winback_min_inactive_days
      and (p.winback_max_inactive_days is null or cv.days_inactive < p.winback_max_inactive_days)
      and cv.orders_lifetime >= 1

    union all

    select cv.customer_id, 'RL-02' as rule_code
    from customers as cv
    cross join params as p
    where cv.days_inactive between p.silence_wakeup_day and p.silence_wakeup_day + p.wakeup_catchup_days
      and cv.customer_id not in (select customer_id from wakeup_contacted)

    union all

    select cv.customer_id, 'RL-03' as rule_code
    from customers as cv
    cross join params as p
    join scores as s on s.customer_id = cv.customer_id
    where s.churn_probability >= p.churn_band_high_min
      and cv.is_high_value
      and cv.lifecycle_stage <> 'lapsed'
),

enriched as (
    select
        c.customer_id,
        c.rule_code,
        case when p.is_crisis_mode and r.crisis_action_code is not null
             then r.crisis_action_code else r.action_code end as action_code,
        case when p.tier_treatment_enabled and t.retention_channel is not null
             then t.retention_channel else split_part(r.channels, '|', 1) end as channel,
        r.priority as rule_priority,
        s.churn_probability,
        cv.value_tier,
        cv.revenue_365d,
        (cv.revenue_365d * coalesce(s.churn_probability,
                                     case when cv.lifecycle_stage = 'lapsed' then 1.0 end))::numeric(18, 2)
            as expected_value_at_risk,
        coalesce(s.model_version, rm.model_version) as model_version
    from candidates as c
    join rules as r on r.rule_code = c.rule_code
    join customers as cv on cv.customer_id = c.customer_id
    left join scores as s on s.customer_id = c.customer_id
    left join tiers as t on t.tier_code = cv.value_tier
    cross join params as p
    cross join run_model as rm
)

select
    {{ run_date() }} as run_date,
    customer_id,
    rule_code,
    action_code,
    channel,
    row_number() over (
        order by expected_value_at_risk desc nulls last, rule_priority, revenue_365d desc, customer_id, rule_code
    ) as priority_rank,
    churn_probability,
    value_tier,
    expected_value_at_risk,
    model_version,
    {{ policy_version() }} as policy_version
from enriched
where {{ require_rule_params(['RL-01', 'RL-02', 'RL-03']) }}
