{#- Retention list for var('run_date') (seed_spec 3.7 / 8): one row per customer (the winning action of
    lists_build.retention_candidates). RL-20 ranking: value tier, then churn band, then the highest tag
    priority weight of the customer's open tickets (CM-05), then SLA timeout risk (overdue open tickets,
    CM-04), then expected value at risk = clv_estimate x churn_probability (value_basis: 'clv' when the CV-06
    estimate exists, else 'revenue_365d') (lapsed and unscored customers count as fully at risk; null for
    other unscored customers), then rule priority, then customer_id. CH-08 hold-out: deterministic draw
    u = uniform_draw(customer_id, rule_code, holdout_salt) in [0, 1) < holdout_share (per rule, else policy); hold-out
    rows stay with holdout_flag and contact_status 'holdout' and are never exported for contact.
    CH-09 capacity: non-hold-out rows in rank order count against capacity_per_day:<team>,
    capacity_per_day:<team>:<channel> and list_capacity_per_day (unset = no cap); rows beyond a cap stay
    with contact_status 'over_capacity'. RL-15 (while enabled): tone = emotion > satisfaction > crisis
    exposure (risk_levels), else 'neutral'; style (sensitive | rational, tone_styles) = the CV-12 dominant
    emotion's row, else the satisfaction level's row, else the emotion 'unknown' row; expertise = the
    customer's expertise_hint when tone_styles knows it, else 'unknown' (the hint is outside the landing
    contract); wording_level = that expertise row's wording (professional | simplified | standard);
    script_hint = action_code.tone.style.wording_level, the key the CRM maps to its script templates.
    CH-06: reasons = the top-3 churn reasons in business words (scoring.churn_reasons.reason_text), raw feature
    names in reason_codes. CH-05: churn_band from marts.churn_bands (every scored customer). -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

winners as (
    select * from {{ ref('retention_candidates') }}
    where run_date = {{ run_date() }} and decision = 'selected'
      and {{ not_erased('customer_id') }}  -- PS-08: an erased customer is never listed
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }}
),

levels as (
    select * from {{ policy_rows('risk_levels', ['dimension', 'level']) }} as r
),

styles as (
    select * from {{ policy_rows('tone_styles', ['dimension', 'level']) }} as s
),

tone_on as (
    select exists (select 1 from {{ policy_rows('retention_rules', ['rule_code']) }} as r
                   where r.rule_code = 'RL-15' and r.enabled) as on_
),

affected as (
    select distinct x.customer_id
    from {{ ref('int_lists__crisis_exposure') }} as x
    cross join p
    where x.customer_id is not null
      and (x.is_active or x.days_since_resolved <= p.post_crisis_offer_window_days)
),

ticket_pressure as (
    -- RL-20's issue-type and timeout-risk keys, from the complaint mart of the run date
    select
        t.customer_id,
        max(t.tag_priority_weight) filter (where t.is_open) as open_ticket_weight,
        count(*) filter (where t.is_open and t.is_overdue) as overdue_open_tickets
    from {{ ref('fct_tickets') }} as t
    where t.run_date = {{ run_date() }} and t.customer_id is not null
    group by t.customer_id
),

caps as (
    select split_part(pp.key, ':', 2) as team, nullif(split_part(pp.key, ':', 3), '') as channel,
           {{ policy_value('pp') }}::integer as capacity
    from {{ policy_rows('policy_parameters', ['key']) }} as pp
    where pp.key like 'capacity\_per\_day:%'
),

enriched as (
    select
        w.*,
        c.value_tier,
        c.tier_rank,
        c.lifecycle_stage,
        c.churn_probability,
        c.churn_band,
        c.churn_band_rank,
        c.clv_estimate,
        rs.reason_codes,
        rs.reasons,
        c.value_basis,
        tp.open_ticket_weight,
        coalesce(tp.overdue_open_tickets, 0) as overdue_open_tickets,
        c.model_version,
        c.mlflow_run_id,
        (c.clv_estimate * coalesce(c.churn_probability,
                                   case when c.lifecycle_stage = 'lapsed' then 1.0 end))::numeric(18, 2)
            as expected_value_at_risk,
        case when t.on_ then coalesce(le.tone, ls.tone, lc.tone, 'neutral') end as tone,
        case when t.on_ then coalesce(se.style, ss.style, sd.style) end as style,
        coalesce(sx.level, su.level) as expertise,
        case when t.on_ then coalesce(sx.wording_level, su.wording_level) end as wording_level,
        {{ uniform_draw(["w.customer_id", "w.rule_code", "p.holdout_salt"]) }} as holdout_draw
    from winners as w
    cross join p
    cross join tone_on as t
    join cust as c on c.customer_id = w.customer_id
    left join {{ ref('int_lists__customer_reasons') }} as rs on rs.customer_id = w.customer_id
    left join ticket_pressure as tp on tp.customer_id = w.customer_id
    left join levels as le on le.dimension = 'emotion' and le.level = c.dominant_emotion
    left join levels as ls on ls.dimension = 'satisfaction' and ls.level = c.satisfaction_level
    left join affected as a on a.customer_id = w.customer_id
    left join levels as lc on lc.dimension = 'crisis' and lc.level = 'affected' and a.customer_id is not null
    left join styles as se on se.dimension = 'emotion' and se.level = c.dominant_emotion
    left join styles as ss on ss.dimension = 'satisfaction' and ss.level = c.satisfaction_level
    left join styles as sd on sd.dimension = 'emotion' and sd.level = 'unknown'
    left join styles as sx on sx.dimension = 'expertise' and sx.level = c.expertise_hint
    left join styles as su on su.dimension = 'expertise' and su.level = 'unknown'
),

ranked as (
    select
        e.*,
        e.holdout_draw < e.holdout_share as holdout_flag,
        row_number() over (
            order by e.tier_rank, e.churn_band_rank nulls last, e.open_ticket_weight desc nulls last,
                     e.overdue_open_tickets desc, e.expected_value_at_risk desc nulls last,
                     e.rule_priority, e.customer_id
        ) as priority_rank
    from enriched as e
),

queued as (
    select
        r.*,
        case when not r.holdout_flag then
            row_number() over (partition by r.holdout_flag, r.team order by r.priority_rank) end as team_position,
        case when not r.holdout_flag then
            row_number() over (partition by r.holdout_flag, r.team, r.channel order by r.priority_rank) end as team_channel_position,
        case when not r.holdout_flag then
            row_number() over (partition by r.holdout_flag order by r.priority_rank) end as list_position
    from ranked as r
)

select
    q.run_date::date as run_date,
    q.customer_id::text as customer_id,
    q.rule_code::text as rule_code,
    q.rule_codes::text as rule_codes,
    q.action_code::text as action_code,
    q.trigger_detail::text as trigger_detail,
    q.crisis_event_id::text as crisis_event_id,
    q.channel::text as channel,
    q.team::text as team,
    q.priority_rank::integer as priority_rank,
    q.run_date::date as due_by,
    q.tone::text as tone,
    q.reason_codes::text as reason_codes,
    q.churn_probability::double precision as churn_probability,
    q.churn_band::text as churn_band,
    q.value_tier::text as value_tier,
    q.lifecycle_stage::text as lifecycle_stage,
    q.clv_estimate::numeric(18, 2) as clv_estimate,
    q.expected_value_at_risk::numeric(18, 2) as expected_value_at_risk,
    q.holdout_flag::boolean as holdout_flag,
    q.holdout_share::numeric(6, 4) as holdout_share,
    (case
        when q.holdout_flag then 'holdout'
        when (ct.capacity is not null and q.team_position > ct.capacity)
          or (cc.capacity is not null and q.team_channel_position > cc.capacity)
          or (p.list_capacity_per_day is not null and q.list_position > p.list_capacity_per_day)
            then 'over_capacity'
        else 'ready'
    end)::text as contact_status,
    q.consent_purpose::text as consent_purpose,
    q.consent_status_ts::timestamptz as consent_status_ts,
    q.model_version::text as model_version,
    q.mlflow_run_id::text as mlflow_run_id,
    q.policy_version::text as policy_version,
    q.style::text as style,
    q.expertise::text as expertise,
    q.wording_level::text as wording_level,
    (case when q.tone is not null
          then concat_ws('.', q.action_code, q.tone, q.style, q.wording_level) end)::text as script_hint,
    q.reasons::text as reasons,
    q.value_basis::text as value_basis
from queued as q
cross join p
left join caps as ct on ct.team = q.team and ct.channel is null
left join caps as cc on cc.team = q.team and cc.channel = q.channel
