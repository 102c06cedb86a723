{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='run_date',
          on_schema_change='append_new_columns', post_hook='analyze {{ this }}',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where run_date = {{ run_date() }}{% endif %}") }}
{#- The pre-hook clears the run date first: delete+insert deletes only the keys of the new rows, so a rerun that
    finds nothing (e.g. under the strict policy profile) would otherwise keep the earlier run's rows. -#}
{#- Every compensation trigger found on var('run_date') (seed_spec 3.8), with its ledger decision. Kept per
    run_date (incremental) as the audit of what was considered and why a row did or did not reach the list.
      CP-01 complaint resolved in complaint_comp_lookback_days: package by tier x severity x complaint type
            (the most specific enabled matrix row wins).
      CP-02 second round: a complaint still dissatisfied at its revisit (fct_tickets.dissatisfied_after_revisit,
            CM-12) answered within complaint_comp_lookback_days, a round 1 for the ticket in the ledger,
            round 2 <= max_compensation_rounds.
      CP-03 service outage in scope: (outage_points_multiplier - 1) x points earned in the crisis window.
      CP-04 severe public-opinion crisis in scope: severe_incident_comp_multiplier x impact_value.
      CP-05 post-crisis loyalty (crisis resolved within post_crisis_offer_window_days): matrix amount.
      CP-06 product-safety crisis: impact_value x multiplier (refund) + matrix amount (voucher).
      CP-07 data-breach crisis: matrix amount.
      CP-08 crisis-sensitive customers while a crisis is active: preventive_extension_days of service.
      CP-09 angry / disappointed ticket in the lookback (emotion: fct_tickets.emotion_class, from the
            text enrichment): matrix amount / points.
    A crisis is "in scope" while active or resolved within post_crisis_offer_window_days.
    Ledger (CP-14): ledger_key = ticket:<id>:<round> | crisis:<id>:<round> | crisis_points:<id>:<round> (CP-03
    loyalty points: a package of its own, so a severe outage grants both the CP-04 compensation and the points;
    a CRM grant of compensation_type points for the crisis counts here) | crisis_loyalty:<id>:1 |
    crisis_preventive:<id>:1. A key already in the CRM's compensations (issued before the end of the run
    date) or in an earlier published compensation list is `already_compensated`; within a day the matrix
    priority picks one rule per key (others `superseded`). Per-customer cap over 365 days (CP-14):
    compensation_cap_per_customer_365d:<value tier> when set, else compensation_cap_per_customer_365d; rows
    pushing the total over it are `over_cap` and need approval.
    Matrix rows: a package applies to the customer's value tier or to 'any' tier (the tier row wins), so
    amounts scale with the tier. Only rules int_policy__rule_readiness enables under the policy profile, and
    only matrix rows enabled under it (strict: no row tagged starter), are read. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

matrix as (
    select *
    from {{ policy_rows('compensation_matrix', ['trigger', 'tier', 'severity', 'complaint_type']) }} as m
    where {{ policy_row_enabled('m') }}
      and m.rule_code in (select r.rule_code from {{ ref('int_policy__rule_readiness') }} as r where r.is_enabled)
),

tier_caps as (
    select split_part(pp.key, ':', 2) as tier, {{ policy_value('pp') }}::numeric as cap_365d
    from {{ policy_rows('policy_parameters', ['key']) }} as pp
    where pp.key like 'compensation\_cap\_per\_customer\_365d:%'
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }}
),

tickets as (
    select *
    from {{ ref('fct_tickets') }}
    where run_date = {{ run_date() }} and customer_id is not null
),

crises as (
    select x.*
    from {{ ref('int_lists__crisis_exposure') }} as x
    cross join p
    where x.is_active or x.days_since_resolved <= p.post_crisis_offer_window_days
),

crm_ledger as (
    select customer_id,
           case when ticket_id is not null then 'ticket:' || ticket_id
                when compensation_type = 'points' then 'crisis_points:' || crisis_event_id
                else 'crisis:' || crisis_event_id end
               || ':' || round_no as ledger_key,
           amount, issued_at
    from {{ ref('stg_crm__compensations') }}
    where issued_at < {{ run_end() }} and (ticket_id is not null or crisis_event_id is not null)
),

platform_ledger as (
    select customer_id, ledger_key, amount, run_date
    from {{ ref('int_lists__published_history') }}
    where list_name = 'compensation'
),

ledger as (
    select customer_id, ledger_key from crm_ledger
    union
    select customer_id, ledger_key from platform_ledger
),

resolved_complaints as (
    select t.*
    from tickets as t
    cross join p
    where t.is_complaint
      and t.resolved_at is not null and t.resolved_at < {{ run_end() }}
      and {{ utc_date('t.resolved_at') }} > {{ run_date() }} - p.complaint_comp_lookback_days
),

cp01 as (
    select t.customer_id, 'CP-01' as rule_code, 'complaint' as trigger_type, t.ticket_id,
           null::text as crisis_event_id, 1 as round_no, m.package_code,
           m.amount, m.points, null::integer as benefit_days, t.resolved_at as trigger_at,
           row_number() over (partition by t.ticket_id
                              order by (m.severity <> 'any') desc, (m.complaint_type <> 'any') desc,
                                       (m.tier <> 'any') desc, m.package_code) as match_rank
    from resolved_complaints as t
    join cust as c on c.customer_id = t.customer_id
    join matrix as m
      on m.trigger = 'complaint'
     and m.tier in (c.value_tier, 'any')
     and m.severity in (coalesce(t.severity, 'any'), 'any')
     and m.complaint_type in (coalesce(t.complaint_type, 'any'), 'any')
),

revisit_dissatisfied as (
    -- CM-12 in the complaint mart decides "still dissatisfied at the revisit" (one definition)
    select t.customer_id, t.ticket_id, t.revisit_responded_at as responded_at
    from tickets as t
    cross join p
    where t.is_complaint
      and t.dissatisfied_after_revisit
      and {{ utc_date('t.revisit_responded_at') }} > {{ run_date() }} - p.complaint_comp_lookback_days
),

cp02 as (
    select r.customer_id, 'CP-02', 'second_round', r.ticket_id, null::text, 2, m.package_code,
           m.amount, m.points, null::integer, r.responded_at,
           row_number() over (partition by r.ticket_id order by (m.tier <> 'any') desc, m.package_code) as match_rank
    from revisit_dissatisfied as r
    join cust as c on c.customer_id = r.customer_id
    join matrix as m on m.trigger = 'second_round' and m.tier in (c.value_tier, 'any')
    cross join p
    where 2 <= p.max_compensation_rounds
      and exists (select 1 from ledger as l
                  where l.customer_id = r.customer_id and l.ledger_key = 'ticket:' || r.ticket_id || ':1')
),

outage_points as (
    select x.customer_id, x.crisis_event_id, x.started_at,
           coalesce(sum(o.points_earned), 0) as points_earned_in_window
    from crises as x
    left join {{ ref('fct_orders') }} as o
      on o.customer_id = x.customer_id
     and o.order_status <> 'cancelled'
     and o.order_ts >= x.started_at
     and o.order_ts < coalesce(x.resolved_at, {{ run_end() }})
     and o.order_ts < {{ run_end() }}
    where x.crisis_type = 'service_outage' and x.customer_id is not null
    group by x.customer_id, x.crisis_event_id, x.started_at
),

cp03 as (
    select op.customer_id, 'CP-03', 'crisis:service_outage', null::text, op.crisis_event_id, 1,
           m.package_code, null::numeric,
           (op.points_earned_in_window * (p.outage_points_multiplier - 1))::bigint, null::integer,
           op.started_at, 1
    from outage_points as op
    join matrix as m on m.trigger = 'crisis:service_outage'
    cross join p
    where op.points_earned_in_window > 0
),

cp04 as (
    select x.customer_id, 'CP-04', 'crisis:severe_public_opinion', null::text, x.crisis_event_id, 1,
           m.package_code, (x.impact_value * p.severe_incident_comp_multiplier)::numeric, m.points,
           null::integer, x.started_at, 1
    from crises as x
    join matrix as m on m.trigger = 'crisis:severe_public_opinion' and m.severity in ('severe', 'any')
    cross join p
    where x.opinion_level = 'severe' and x.customer_id is not null and x.impact_value is not null
),

cp06_07 as (
    select x.customer_id, m.rule_code, m.trigger, null::text, x.crisis_event_id, 1,
           m.package_code,
           case when m.amount is null and (m.multiplier is null or x.impact_value is null) then null
                else coalesce(x.impact_value * m.multiplier, 0) + coalesce(m.amount, 0) end,
           m.points, null::integer, x.started_at,
           row_number() over (partition by x.customer_id, x.crisis_event_id, m.rule_code
                              order by (m.tier not in ('any', 'affected')) desc, m.package_code) as match_rank
    from crises as x
    join cust as c on c.customer_id = x.customer_id
    join matrix as m
      on m.trigger = 'crisis:' || x.crisis_type and m.rule_code in ('CP-06', 'CP-07')
     and m.tier in (c.value_tier, 'any', 'affected')
    where x.customer_id is not null
),

cp05 as (
    select x.customer_id, 'CP-05', 'post_crisis_loyalty', null::text, x.crisis_event_id, 1,
           m.package_code, m.amount, m.points, null::integer, x.resolved_at,
           row_number() over (partition by x.customer_id, x.crisis_event_id
                              order by (m.tier not in ('any', 'affected')) desc, m.package_code) as match_rank
    from crises as x
    join cust as c on c.customer_id = x.customer_id
    join matrix as m on m.trigger = 'post_crisis_loyalty' and m.tier in (c.value_tier, 'any', 'affected')
    where not x.is_active and x.customer_id is not null
),

active_crisis as (
    select crisis_event_id, started_at
    from crises
    where is_active
    order by started_at desc, crisis_event_id
    limit 1
),

cp08 as (
    select c.customer_id, 'CP-08', 'preventive', null::text, a.crisis_event_id, 1,
           m.package_code, m.amount, m.points, p.preventive_extension_days, a.started_at, 1
    from cust as c
    cross join active_crisis as a
    join matrix as m on m.trigger = 'preventive'
    cross join p
    where c.is_crisis_sensitive and c.customer_status = 'active'
),

ticket_emotions as (
    select t.ticket_id, t.customer_id, t.emotion_class, t.created_at from tickets as t
),

cp09 as (
    select te.customer_id, 'CP-09', 'emotion_soothing', te.ticket_id, null::text, 1,
           m.package_code, m.amount, m.points, null::integer, te.created_at,
           row_number() over (partition by te.ticket_id order by (m.tier <> 'any') desc, m.package_code) as match_rank
    from ticket_emotions as te
    join cust as c on c.customer_id = te.customer_id
    join matrix as m on m.trigger = 'emotion_soothing' and m.tier in (c.value_tier, 'any')
    cross join p
    where te.emotion_class in (
            select level from {{ policy_rows('risk_levels', ['dimension', 'level']) }} as r
            where r.dimension = 'emotion' and r.escalate_to_human)
      and te.created_at < {{ run_end() }}
      and {{ utc_date('te.created_at') }} > {{ run_date() }} - p.complaint_comp_lookback_days
),

found as (
    select * from cp01 where match_rank = 1
    union all select * from cp02 where match_rank = 1
    union all select * from cp03
    union all select * from cp04
    union all select * from cp05 where match_rank = 1
    union all select * from cp06_07 where match_rank = 1
    union all select * from cp08
    union all select * from cp09 where match_rank = 1
),

keyed as (
    select
        f.*,
        case
            when f.trigger_type = 'post_crisis_loyalty' then 'crisis_loyalty:' || f.crisis_event_id
            when f.trigger_type = 'preventive' then 'crisis_preventive:' || f.crisis_event_id
            when f.trigger_type = 'crisis:service_outage' then 'crisis_points:' || f.crisis_event_id
            when f.ticket_id is not null then 'ticket:' || f.ticket_id
            else 'crisis:' || f.crisis_event_id
        end || ':' || f.round_no as ledger_key
    from found as f
    where f.amount is not null or f.points is not null or f.benefit_days is not null
),

decided as (
    select
        k.*,
        m.priority as matrix_priority,
        m.components as content,
        m.usage_conditions_code,
        m.script_template,
        m.trigger_text as trigger_template,
        m.requires_approval,
        exists (select 1 from ledger as l where l.customer_id = k.customer_id and l.ledger_key = k.ledger_key)
            as already_compensated,
        row_number() over (partition by k.customer_id, k.ledger_key
                           order by m.priority, k.rule_code, k.package_code) as key_rank
    from keyed as k
    join matrix as m on m.package_code = k.package_code
),

granted_365d as (
    select customer_id, sum(amount) as amount_365d
    from (
        select customer_id, amount from crm_ledger where issued_at >= {{ run_end() }} - interval '365 days'
        union all
        select customer_id, amount from platform_ledger where run_date > {{ run_date() }} - 365
    ) as g
    group by customer_id
),

capped as (
    select
        d.*,
        coalesce(g.amount_365d, 0)
            + sum(coalesce(d.amount, 0)) over (
                partition by d.customer_id, (not d.already_compensated and d.key_rank = 1)
                order by d.matrix_priority, d.ledger_key, d.rule_code
                rows between unbounded preceding and current row) as cumulative_amount_365d
    from decided as d
    left join granted_365d as g on g.customer_id = d.customer_id
)

select
    {{ run_date() }} as run_date,
    c.customer_id,
    c.rule_code,
    c.trigger_type,
    c.ticket_id,
    c.crisis_event_id,
    c.round_no,
    c.ledger_key,
    c.package_code,
    c.content,
    c.amount::numeric(18, 2) as amount,
    c.points::bigint as points,
    c.benefit_days,
    c.trigger_at,
    c.matrix_priority,
    c.usage_conditions_code,
    c.script_template,
    {#- the trigger in words (CH-06 / CP-11): compensation_matrix.trigger_text with the row's ids and date -#}
    replace(replace(replace(c.trigger_template, '{ticket}', coalesce(c.ticket_id, '')),
                    '{crisis}', coalesce(c.crisis_event_id, '')),
            '{date}', {{ utc_date('c.trigger_at') }}::text)::text as trigger_text,
    c.requires_approval,
    c.cumulative_amount_365d::numeric(18, 2) as cumulative_amount_365d,
    case
        when c.already_compensated then 'already_compensated'
        when c.key_rank > 1 then 'superseded'
        when coalesce(tc.cap_365d, p.compensation_cap_per_customer_365d) is not null
             and c.cumulative_amount_365d > coalesce(tc.cap_365d, p.compensation_cap_per_customer_365d)
            then 'over_cap'
        else 'listed'
    end as decision,
    p.policy_version
from capped as c
cross join p
left join cust as cu on cu.customer_id = c.customer_id
left join tier_caps as tc on tc.tier = cu.value_tier
where {{ require_rule_params(['CP-01', 'CP-02', 'CP-03', 'CP-04', 'CP-05', 'CP-06', 'CP-07', 'CP-08', 'CP-09']) }}
