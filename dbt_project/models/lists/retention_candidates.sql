{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='run_date',
          on_schema_change='append_new_columns', post_hook='analyze {{ this }}',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where run_date = {{ run_date() }}{% endif %}") }}
{#- The pre-hook clears the run date first: delete+insert deletes only the keys of the new rows, so a rerun that
    finds nothing (e.g. under the strict policy profile) would otherwise keep the earlier run's rows. -#}
{#- Every retention rule hit on var('run_date') (seed_spec 3.7) with its governance outcome; kept per run_date
    (incremental) as the audit trail: which rules fired, which one won, why the others did not.
    Rules (only the ones int_policy__rule_readiness enables under the policy profile; crisis_only rules only
    while their crisis condition holds):
      RL-01 days_inactive >= winback_min_inactive_days (< winback_max_inactive_days when set), >= 1 order;
            crisis mode (an active crisis) switches the action to crisis_action_code.
      RL-02 silence_wakeup_day <= days_inactive <= + wakeup_catchup_days, no wake_up contact since.
      RL-03 / RL-04 churn band high / medium (risk_levels thresholds), not lapsed (CH-02).
      RL-07 crisis mode and crisis-sensitive.      RL-08 affected by an active service outage.
      RL-09 T1/T2 affected by an active crisis.    RL-11 crisis-sensitive, a crisis resolved within
            post_crisis_offer_window_days.
      RL-10 affected by a crisis resolved within post_crisis_revisit_days, latest survey since the crisis
            start CSAT <= post_crisis_revisit_csat_max or NPS <= post_crisis_revisit_nps_max, sampled
            (deterministic draw < post_crisis_revisit_sample_rate).
      RL-12 affected by a crisis that is active or resolved less than care_content_duration_months ago.
      RL-14 dominant emotion with an action in risk_levels.
      RL-16 onboarding touch (tenure_days = k x onboarding_touch_interval_days, k < onboarding_touch_count),
            birthday (only once birthday_offset_days is set), purchase anniversary, holiday greeting (an
            enabled holiday_calendar row for 'any' or the customer's country whose date - fixed month_day or
            movable holiday_date - equals run_date - greeting_offset_days; not for lapsed customers; marketing
            consent via the rule's consent_purpose). One RL-16 row per customer: the first of these in this
            order is the trigger_detail (onboarding_<k> | birthday | purchase_anniversary | holiday_<code>,
            country-specific holidays before 'any').
      RL-17 lapsed (days_inactive >= winback_min_inactive_days), any purchase history.
    Governance (RL-19), first reason wins: do_not_contact, no_consented_channel (channel_matrix segment
    options, RL-05 tier rows first, RL-06; consent for the rule's consent_purpose), rule_cooldown (the rule
    listed the customer within cooldown_days in an earlier published list), contact_cooldown /
    frequency_cap_7d / frequency_cap_30d (contact history; each cap is off while its [U] parameter is
    unset), on_compensation_list (de-dup: today's compensation contact is the day's touch).
    One action per customer per day: among unsuppressed hits the lowest rule priority (then rule_code) wins;
    the rest are `lost`. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

rules as (
    select r.*
    from {{ policy_rows('retention_rules', ['rule_code']) }} as r
    where r.rule_code in (select rr.rule_code from {{ ref('int_policy__rule_readiness') }} as rr where rr.is_enabled)
),

flags as (
    select
        exists (select 1 from rules where rule_code = 'RL-05') as tier_treatment,
        exists (select 1 from rules where rule_code = 'RL-06') as channel_matrix_on,
        exists (select 1 from rules where rule_code = 'RL-15') as tone_on,
        exists (select 1 from {{ ref('int_lists__crisis_exposure') }} where is_active) as is_crisis_mode
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }} where customer_status = 'active'
),

crisis as (
    select * from {{ ref('int_lists__crisis_exposure') }}
),

active_crisis as (
    select crisis_event_id from crisis where is_active order by started_at desc, crisis_event_id limit 1
),

load as (
    select * from {{ ref('int_lists__contact_load') }}
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
        coalesce(to_char({{ utc_date('c.first_order_at') }}, 'MM-DD') = to_char({{ run_date() }}, 'MM-DD')
                 and {{ utc_date('c.first_order_at') }} < {{ run_date() }}, false) as is_anniversary,
        (select h.holiday_code from holidays_today as h
          where c.lifecycle_stage <> 'lapsed' and h.country in (c.country, 'any')
          order by (h.country = 'any'), h.holiday_code
          limit 1) as holiday_code
    from cust as c
    cross join p
),

hits as (
    select c.customer_id, 'RL-01' as rule_code, null::text as crisis_event_id, null::text as trigger_detail
    from cust as c cross join p
    where c.days_inactive >= p.winback_min_inactive_days
      and (p.winback_max_inactive_days is null or c.days_inactive < p.winback_max_inactive_days)
      and c.orders_lifetime >= 1

    union all
    select c.customer_id, 'RL-02', null, 'silence_day_' || c.days_inactive
    from cust as c cross join p
    left join load as l on l.customer_id = c.customer_id
    where c.days_inactive between p.silence_wakeup_day and p.silence_wakeup_day + p.wakeup_catchup_days
      and not coalesce(l.last_wakeup_at >= coalesce(c.last_activity_at, c.registered_at), false)

    union all
    select c.customer_id, 'RL-03', null, 'churn_band_high'
    from cust as c
    where c.churn_band = 'high' and c.lifecycle_stage <> 'lapsed'

    union all
    select c.customer_id, 'RL-04', null, 'churn_band_medium'
    from cust as c
    where c.churn_band = 'medium' and c.lifecycle_stage <> 'lapsed'

    union all
    select c.customer_id, 'RL-07', a.crisis_event_id, 'crisis_sensitive'
    from cust as c cross join active_crisis as a
    where c.is_crisis_sensitive

    union all
    select distinct on (x.customer_id) x.customer_id, 'RL-08', x.crisis_event_id, 'service_outage'
    from crisis as x join cust as c on c.customer_id = x.customer_id
    where x.is_active and x.crisis_type = 'service_outage'

    union all
    select distinct on (x.customer_id) x.customer_id, 'RL-09', x.crisis_event_id, x.crisis_type
    from crisis as x join cust as c on c.customer_id = x.customer_id
    where x.is_active and c.value_tier in ('T1_DIAMOND', 'T2_GOLD')

    union all
    select distinct on (x.customer_id) x.customer_id, 'RL-10', x.crisis_event_id, 'post_crisis_dissatisfied'
    from crisis as x
    join cust as c on c.customer_id = x.customer_id
    cross join p
    join lateral (
        select s.survey_type, s.score
        from {{ ref('stg_crm__surveys') }} as s
        where s.customer_id = x.customer_id and s.responded_at >= x.started_at
          and s.responded_at < {{ run_end() }} and s.score is not null
        order by s.responded_at desc
        limit 1
    ) as sv on true
    where not x.is_active and x.days_since_resolved <= p.post_crisis_revisit_days
      and ((sv.survey_type = 'CSAT' and sv.score <= p.post_crisis_revisit_csat_max)
           or (sv.survey_type = 'NPS' and sv.score <= p.post_crisis_revisit_nps_max))
      and {{ uniform_draw(["x.customer_id", "'RL-10'", "x.crisis_event_id", "p.holdout_salt"]) }}
          < p.post_crisis_revisit_sample_rate

    union all
    select c.customer_id, 'RL-11', x.crisis_event_id, 'post_crisis_health_check'
    from cust as c
    cross join p
    join lateral (
        select crisis_event_id from crisis
        where not is_active and days_since_resolved <= p.post_crisis_offer_window_days
        order by started_at desc, crisis_event_id limit 1
    ) as x on true
    where c.is_crisis_sensitive

    union all
    select distinct on (x.customer_id) x.customer_id, 'RL-12', x.crisis_event_id, 'trust_repair'
    from crisis as x
    join cust as c on c.customer_id = x.customer_id
    cross join p
    where x.is_active
       or {{ run_date() }} < ({{ utc_date('x.resolved_at') }} + make_interval(months => p.care_content_duration_months))::date

    union all
    select c.customer_id, 'RL-14', null, 'emotion_' || c.dominant_emotion
    from cust as c
    join {{ policy_rows('risk_levels', ['dimension', 'level']) }} as r
      on r.dimension = 'emotion' and r.level = c.dominant_emotion and r.action_code is not null

    union all
    select l.customer_id, 'RL-16', null,
           case when l.is_onboarding then 'onboarding_' || l.onboarding_touch
                when l.is_birthday then 'birthday'
                when l.is_anniversary then 'purchase_anniversary'
                else 'holiday_' || l.holiday_code
           end
    from lifecycle as l
    where l.is_onboarding or l.is_birthday or l.is_anniversary or l.holiday_code is not null

    union all
    select c.customer_id, 'RL-17', null, 'lapsed_' || c.value_tier
    from cust as c cross join p
    where c.days_inactive >= p.winback_min_inactive_days
),

ruled as (
    select h.*, r.priority as rule_priority, r.crisis_only, r.consent_purpose, r.channel_segment,
           r.channels, r.cooldown_days, coalesce(r.holdout_share, p.holdout_share) as holdout_share,
           case when f.is_crisis_mode and r.crisis_action_code is not null then r.crisis_action_code
                when h.rule_code = 'RL-14' then (
                    select rl.action_code from {{ policy_rows('risk_levels', ['dimension', 'level']) }} as rl
                    where rl.dimension = 'emotion' and 'emotion_' || rl.level = h.trigger_detail)
                else r.action_code end as action_code
    from hits as h
    join rules as r on r.rule_code = h.rule_code
    cross join p
    cross join flags as f
),

matrix as (
    select * from {{ policy_rows('channel_matrix', ['segment', 'tier', 'channel']) }} as m where m.enabled
),

options as (
    -- RL-06 on: the segment's rows for the customer's tier first (while RL-05 is on), then its 'any' rows.
    select r.customer_id, r.rule_code, m.channel, m.team, (m.tier = 'any')::integer as tier_group,
           m.channel_rank, m.preferred_first
    from ruled as r
    join cust as c on c.customer_id = r.customer_id
    cross join flags as f
    join matrix as m
      on f.channel_matrix_on
     and m.segment = r.channel_segment
     and (m.tier = 'any' or (f.tier_treatment and m.tier = c.value_tier))
    union all
    -- RL-06 off: the rule's own channels, in order.
    select r.customer_id, r.rule_code, ch.channel, 'default', 1, ch.ord::integer, false
    from ruled as r
    cross join flags as f
    cross join lateral unnest(string_to_array(r.channels, '|')) with ordinality as ch(channel, ord)
    where not f.channel_matrix_on
),

chosen as (
    select distinct on (o.customer_id, o.rule_code)
        o.customer_id, o.rule_code, o.channel, o.team, cs.status_ts as consent_status_ts
    from options as o
    join ruled as r on r.customer_id = o.customer_id and r.rule_code = o.rule_code
    join cust as c on c.customer_id = o.customer_id
    join {{ ref('int_lists__consent') }} as cs
      on cs.customer_id = o.customer_id and cs.purpose = r.consent_purpose and cs.channel = o.channel
     and cs.is_granted
    order by o.customer_id, o.rule_code, o.tier_group,
             coalesce(o.preferred_first and o.channel = c.preferred_channel, false) desc, o.channel_rank
),

dnc as (
    select distinct customer_id from {{ ref('int_lists__consent') }} where is_do_not_contact
),

history as (
    select customer_id, rule_code, max(run_date) as last_listed_on
    from {{ ref('int_lists__published_history') }}
    where list_name = 'retention'
    group by customer_id, rule_code
),

on_compensation as (
    select distinct customer_id from {{ ref('compensation_list') }} where run_date = {{ run_date() }}
),

governed as (
    select
        r.*,
        ch.channel,
        ch.team,
        ch.consent_status_ts,
        case
            when d.customer_id is not null then 'do_not_contact'
            when ch.channel is null then 'no_consented_channel'
            when h.last_listed_on > {{ run_date() }} - r.cooldown_days then 'rule_cooldown'
            when p.contact_cooldown_days is not null
                 and l.last_contact_at >= {{ run_end() }} - make_interval(days => p.contact_cooldown_days)
                then 'contact_cooldown'
            when p.max_contacts_7d is not null and coalesce(l.contacts_7d, 0) >= p.max_contacts_7d then 'frequency_cap_7d'
            when p.max_contacts_30d is not null and coalesce(l.contacts_30d, 0) >= p.max_contacts_30d then 'frequency_cap_30d'
            when oc.customer_id is not null then 'on_compensation_list'
        end as suppression_reason
    from ruled as r
    cross join p
    left join chosen as ch on ch.customer_id = r.customer_id and ch.rule_code = r.rule_code
    left join dnc as d on d.customer_id = r.customer_id
    left join history as h on h.customer_id = r.customer_id and h.rule_code = r.rule_code
    left join load as l on l.customer_id = r.customer_id
    left join on_compensation as oc on oc.customer_id = r.customer_id
),

ranked as (
    select
        g.*,
        case when g.suppression_reason is null
             then row_number() over (partition by g.customer_id, (g.suppression_reason is null)
                                     order by g.rule_priority, g.rule_code) end as win_rank,
        string_agg(g.rule_code, '|') over (
            partition by g.customer_id order by g.rule_priority, g.rule_code
            rows between unbounded preceding and unbounded following) as rule_codes
    from governed as g
)

select
    {{ run_date() }} as run_date,
    r.customer_id,
    r.rule_code,
    r.rule_codes,
    r.rule_priority,
    r.action_code,
    r.trigger_detail,
    r.crisis_event_id,
    r.consent_purpose,
    r.channel,
    r.team,
    r.consent_status_ts,
    r.cooldown_days,
    r.holdout_share,
    r.suppression_reason,
    case when r.suppression_reason is not null then 'suppressed'
         when r.win_rank = 1 then 'selected'
         else 'lost' end as decision,
    p.policy_version
from ranked as r
cross join p
where {{ require_rule_params(['RL-01', 'RL-02', 'RL-03', 'RL-04', 'RL-07', 'RL-08', 'RL-09', 'RL-10', 'RL-11',
                              'RL-12', 'RL-14', 'RL-16', 'RL-17']) }}
