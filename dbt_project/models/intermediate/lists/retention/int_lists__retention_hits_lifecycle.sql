{{ config(tags=["lists"]) }}
{#- Retention rule hits on var('run_date'), lifecycle family (seed_spec 3.7), active customers only:
      RL-16 onboarding touch (tenure_days = k x onboarding_touch_interval_days, k < onboarding_touch_count),
            birthday (only once birthday_offset_days is set), purchase anniversary, holiday greeting (an
            enabled holiday_calendar row for 'any' or the customer's country whose date - fixed month_day or
            movable holiday_date - equals run_date - greeting_offset_days; not for lapsed customers). One
            row per customer: the first of these in this order is the trigger_detail (onboarding_<k> |
            birthday | purchase_anniversary | holiday_<code>, country-specific holidays before 'any'). -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }} where customer_status = 'active'
),

holidays_today as (
    select h.country, h.holiday_code
    from {{ policy_rows('holiday_calendar', ['country', 'holiday_code', 'month_day', 'holiday_date']) }} as h
    where h.enabled
      and (h.holiday_date = {{ run_date() }} - h.greeting_offset_days
           or h.month_day = to_char({{ run_date() }} - h.greeting_offset_days, 'MM-DD'))
),

lifecycle as (
    select
        c.customer_id,
        c.tenure_days % p.onboarding_touch_interval_days = 0
            and c.tenure_days / p.onboarding_touch_interval_days < p.onboarding_touch_count as is_onboarding,
        c.tenure_days / p.onboarding_touch_interval_days + 1 as onboarding_touch,
        coalesce(p.birthday_offset_days is not null
                 and c.birth_month_day = to_char({{ run_date() }} - p.birthday_offset_days, 'MM-DD'), false)
            as is_birthday,
        coalesce(to_char(c.first_order_date, 'MM-DD') = to_char({{ run_date() }}, 'MM-DD')
                 and c.first_order_date < {{ run_date() }}, false) as is_anniversary,
        (select h.holiday_code from holidays_today as h
          where c.lifecycle_stage <> 'lapsed' and h.country in (c.country, 'any')
          order by (h.country = 'any'), h.holiday_code
          limit 1) as holiday_code
    from cust as c
    cross join p
)

select l.customer_id, 'RL-16'::text as rule_code, null::text as crisis_event_id,
       case when l.is_onboarding then 'onboarding_' || l.onboarding_touch
            when l.is_birthday then 'birthday'
            when l.is_anniversary then 'purchase_anniversary'
            else 'holiday_' || l.holiday_code
       end::text as trigger_detail
from lifecycle as l
where l.is_onboarding or l.is_birthday or l.is_anniversary or l.holiday_code is not null
