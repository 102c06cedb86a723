{{ config(materialized='table') }}
{#- CM-03 / seed_spec 2.7: every enabled SLA target (sla_targets seed) that applies to a ticket, one row
    per (ticket, sla_key), and the effective one per SLA metric = the strictest (minimum) target; ties go
    to the first sla_key, so each breach is attributed to exactly one row. Ticket clocks only:
    first_response, solution, resolution, closure (survey / revisit clocks are CM-12; hand-off, dispute,
    statement and post-mortem clocks need data outside the landing contract).
    Context match: any = every ticket; complaint = ticket_type complaint; crisis = linked to a crisis
    event (CM-15); social = social channel with negative polarity ("negative social post"). Tier T1 / T2
    (or T1+T2) matches the customer's value tier; priority / urgency / complexity match the derived
    ticket attributes (CM-02, 2.5). -#}
with tickets as (
    select
        ticket_id,
        is_complaint,
        channel,
        polarity,
        linked_crisis_event_id,
        customer_tier,
        priority,
        urgency,
        complexity
    from {{ ref('int_complaints__tickets') }}
),

targets as (
    select sla_key, context, tier, priority, urgency, complexity, metric, target_minutes, source, policy_version
    from {{ policy_rows('sla_targets', ['sla_key']) }} as s
    where enabled
      and metric in ('first_response', 'solution', 'resolution', 'closure')
),

applicable as (
    select
        t.ticket_id,
        s.sla_key,
        s.metric,
        s.context,
        s.target_minutes,
        s.source,
        s.policy_version
    from tickets as t
    join targets as s
      on (case s.context
              when 'any' then true
              when 'complaint' then t.is_complaint
              when 'crisis' then t.linked_crisis_event_id is not null
              when 'social' then t.channel = 'social' and t.polarity = 'negative'
              else false
          end)
     and (s.tier = 'any' or split_part(t.customer_tier, '_', 1) = any(string_to_array(s.tier, '+')))
     and (s.priority = 'any' or s.priority = t.priority)
     and (s.urgency = 'any' or s.urgency = t.urgency)
     and (s.complexity = 'any' or s.complexity = t.complexity)
)

select
    ticket_id,
    sla_key,
    metric,
    context,
    target_minutes,
    row_number() over (partition by ticket_id, metric order by target_minutes, sla_key) = 1 as is_effective,
    source,
    policy_version
from applicable
