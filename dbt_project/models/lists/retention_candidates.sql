{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='run_date',
          on_schema_change='append_new_columns', post_hook='analyze {{ this }}',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where run_date = {{ run_date() }}{% endif %}") }}
{#- The pre-hook clears the run date first: delete+insert deletes only the keys of the new rows, so a rerun that
    finds nothing (e.g. under the strict policy profile) would otherwise keep the earlier run's rows. -#}
{#- Every retention rule hit on var('run_date') (seed_spec 3.7) with its governance outcome; kept per run_date
    (incremental) as the audit trail: which rules fired, which one won, why the others did not.
    Rule hits (int_lists__retention_hits, a table analysed after its build), one small model per rule
    family (models/intermediate/lists/retention/, each with dbt unit tests): activity (RL-01 win-back, RL-02 wake-up, RL-17 lapsed), churn (RL-03 / RL-04 bands),
    crisis (RL-07 .. RL-12), emotion (RL-14), lifecycle (RL-16 onboarding, birthday, anniversary,
    holidays). Only rules int_policy__rule_readiness enables under the policy profile count.
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

load as (
    select * from {{ ref('int_lists__contact_load') }}
),

hits as (
    select customer_id, rule_code, crisis_event_id, trigger_detail
    from {{ ref('int_lists__retention_hits') }}
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
    select r.customer_id, r.rule_code, r.consent_purpose, m.channel, m.team,
           (m.tier = 'any')::integer as tier_group, m.channel_rank, m.preferred_first
    from ruled as r
    join cust as c on c.customer_id = r.customer_id
    cross join flags as f
    join matrix as m
      on f.channel_matrix_on
     and m.segment = r.channel_segment
     and (m.tier = 'any' or (f.tier_treatment and m.tier = c.value_tier))
    union all
    -- RL-06 off: the rule's own channels, in order.
    select r.customer_id, r.rule_code, r.consent_purpose, ch.channel, 'default', 1, ch.ord::integer, false
    from ruled as r
    cross join flags as f
    cross join lateral unnest(string_to_array(r.channels, '|')) with ordinality as ch(channel, ord)
    where not f.channel_matrix_on
),

-- each option carries its rule's consent purpose: the consent join needs no second pass over ruled (at
-- 1,000,000 customers that re-join made 3.6M intermediate rows; the statement 54.0 -> 42.0 s and
-- 69.1 -> 57.0 s in two alternating runs, the same 929,354 rows: docs/scaling.md, "Session 16")
chosen as (
    select distinct on (o.customer_id, o.rule_code)
        o.customer_id, o.rule_code, o.channel, o.team, cs.status_ts as consent_status_ts
    from options as o
    join cust as c on c.customer_id = o.customer_id
    join {{ ref('int_lists__consent') }} as cs
      on cs.customer_id = o.customer_id and cs.purpose = o.consent_purpose and cs.channel = o.channel
     and cs.is_granted
    order by o.customer_id, o.rule_code, o.tier_group,
             coalesce(o.preferred_first and o.channel = c.preferred_channel, false) desc, o.channel_rank,
             -- the seed keys channel_matrix by (segment, tier, channel): two channels may share a rank, and
             -- the first of them by name wins, so the choice never depends on a plan
             o.channel
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
    select distinct customer_id from {{ ref('int_lists__compensation_listed') }}
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
