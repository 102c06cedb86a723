{{ config(tags=["lists"]) }}
{#- Compensation triggers on var('run_date'), ticket family (seed_spec 3.8), with the matrix package that
    matches best (one per ticket):
      CP-01 complaint resolved in complaint_comp_lookback_days: package by tier x severity x complaint type
            (the most specific row wins: severity, then complaint type, then tier).
      CP-02 second round: a complaint still dissatisfied at its revisit (fct_tickets.dissatisfied_after_revisit,
            CM-12) answered within complaint_comp_lookback_days, a round 1 for the ticket in the ledger,
            round 2 <= max_compensation_rounds.
      CP-09 ticket whose emotion (fct_tickets.emotion_class, from the text enrichment) escalates to a human
            in risk_levels, created within complaint_comp_lookback_days: matrix amount / points. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

tickets as (
    select *
    from {{ ref('fct_tickets') }}
    where run_date = {{ run_date() }} and customer_id is not null
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
    select t.customer_id, 'CP-01'::text as rule_code, 'complaint'::text as trigger_type, t.ticket_id,
           null::text as crisis_event_id, 1 as round_no, m.package_code,
           m.amount::numeric as amount, m.points::bigint as points, null::integer as benefit_days,
           t.resolved_at as trigger_at,
           row_number() over (partition by t.ticket_id
                              order by (m.severity <> 'any') desc, (m.complaint_type <> 'any') desc,
                                       (m.tier <> 'any') desc, m.package_code) as match_rank
    from resolved_complaints as t
    join {{ ref('int_lists__customer_profile') }} as c on c.customer_id = t.customer_id
    join {{ ref('int_lists__compensation_matrix') }} as m
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
    join {{ ref('int_lists__customer_profile') }} as c on c.customer_id = r.customer_id
    join {{ ref('int_lists__compensation_matrix') }} as m on m.trigger = 'second_round' and m.tier in (c.value_tier, 'any')
    cross join p
    where 2 <= p.max_compensation_rounds
      and exists (select 1 from {{ ref('int_lists__compensation_ledger') }} as l
                  where l.customer_id = r.customer_id and l.ledger_key = 'ticket:' || r.ticket_id || ':1')
),

cp09 as (
    select t.customer_id, 'CP-09', 'emotion_soothing', t.ticket_id, null::text, 1,
           m.package_code, m.amount, m.points, null::integer, t.created_at,
           row_number() over (partition by t.ticket_id order by (m.tier <> 'any') desc, m.package_code) as match_rank
    from tickets as t
    join {{ ref('int_lists__customer_profile') }} as c on c.customer_id = t.customer_id
    join {{ ref('int_lists__compensation_matrix') }} as m on m.trigger = 'emotion_soothing' and m.tier in (c.value_tier, 'any')
    cross join p
    where t.emotion_class in (
            select level from {{ policy_rows('risk_levels', ['dimension', 'level']) }} as r
            where r.dimension = 'emotion' and r.escalate_to_human)
      and t.created_at < {{ run_end() }}
      and {{ utc_date('t.created_at') }} > {{ run_date() }} - p.complaint_comp_lookback_days
)

select customer_id, rule_code, trigger_type, ticket_id, crisis_event_id, round_no, package_code, amount,
       points, benefit_days, trigger_at
from (
    select * from cp01
    union all select * from cp02
    union all select * from cp09
) as found
where match_rank = 1
