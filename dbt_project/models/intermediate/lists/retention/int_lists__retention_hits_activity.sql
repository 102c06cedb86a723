{{ config(tags=["lists"]) }}
{#- Retention rule hits on var('run_date'), activity family (seed_spec 3.7), active customers only:
      RL-01 win-back: days_inactive >= winback_min_inactive_days (< winback_max_inactive_days when set),
            >= 1 order.
      RL-02 wake-up: silence_wakeup_day <= days_inactive <= + wakeup_catchup_days, no wake_up contact since
            the last activity.
      RL-17 lapsed: days_inactive >= winback_min_inactive_days, any purchase history.
    One row per (customer, rule); governance is applied in retention_candidates. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }} where customer_status = 'active'
)

select c.customer_id, 'RL-01'::text as rule_code, null::text as crisis_event_id, null::text as trigger_detail
from cust as c cross join p
where c.days_inactive >= p.winback_min_inactive_days
  and (p.winback_max_inactive_days is null or c.days_inactive < p.winback_max_inactive_days)
  and c.orders_lifetime >= 1

union all
select c.customer_id, 'RL-02', null, 'silence_day_' || c.days_inactive
from cust as c cross join p
left join {{ ref('int_lists__contact_load') }} as l on l.customer_id = c.customer_id
where c.days_inactive between p.silence_wakeup_day and p.silence_wakeup_day + p.wakeup_catchup_days
  and not coalesce(l.last_wakeup_at >= coalesce(c.last_activity_at, c.registered_at), false)

union all
select c.customer_id, 'RL-17', null, 'lapsed_' || c.value_tier
from cust as c cross join p
where c.days_inactive >= p.winback_min_inactive_days
