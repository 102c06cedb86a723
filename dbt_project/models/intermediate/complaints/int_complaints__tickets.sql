{{ config(materialized='table') }}
{#- Every ticket created by the run date in its latest state as of the run date (the incremental
    int_complaints__tickets_latest: a re-exported ticket replaces its earlier version), with the derived attributes the complaint marts share:
    CM-02 priority validation / derivation, 2.5 urgency and complexity, customer tier (CM-01), CM-09
    emotion from the text enrichment (ST-04), CM-15 crisis linkage. A table: fct_tickets, the SLA
    targets, the priority weight and the alerts all read it. -#}
with tickets as (
    select *
    from {{ ref('int_complaints__tickets_latest') }}
    where created_at < {{ run_end() }}
),

params as (
    select
        {{ policy_param('default_ticket_priority', 'text') }} as default_priority,
        {{ policy_param('urgent_ticket_priority', 'text') }} as urgent_priority
),

priorities as (
    select priority, affected_share_min, affected_share_max
    from {{ policy_rows('ticket_priorities', ['priority']) }} as p
),

{#- Tier: the value tier of the run date (customer_value); see fct_tickets.customer_tier. -#}
tiers as (
    select customer_id, value_tier
    from {{ ref('customer_value') }}
    where run_date = {{ run_date() }}
),

emotions as (
    select source_id as ticket_id, polarity, polarity_score, emotion_class, crisis_triage_class, has_risk_keyword
    from {{ ref('stg_enrichment__text_sentiment') }}
    where source_table = 'tickets'
),

{#- CM-15: an untagged ticket of an affected customer created inside a crisis window is linked to that
    crisis (the latest started one). -#}
crisis_windows as (
    select ac.customer_id, ce.crisis_event_id, ce.started_at, coalesce(ce.resolved_at, {{ run_end() }}) as ends_at
    from {{ ref('stg_crm__crisis_affected_customers') }} as ac
    join {{ ref('stg_crm__crisis_events') }} as ce on ce.crisis_event_id = ac.crisis_event_id
    where ce.started_at < {{ run_end() }}
),

inferred_crisis as (
    select distinct on (t.ticket_id) t.ticket_id, w.crisis_event_id
    from tickets as t
    join crisis_windows as w
      on w.customer_id = t.customer_id
     and t.created_at >= w.started_at
     and t.created_at < w.ends_at
    where t.crisis_event_id is null
    order by t.ticket_id, w.started_at desc, w.crisis_event_id
),

prioritised as (
    select
        t.*,
        case
            when t.source_priority is null then 'missing'
            when vp.priority is null then 'invalid'
            else 'valid'
        end as priority_check,
        case
            when vp.priority is not null then t.source_priority
            {# derivation: the affected-user share band (a boundary belongs to the lower band, so P1's
               lower bound is exclusive), else the urgent / default priority. #}
            else coalesce(
                band.priority,
                case when coalesce(t.is_urgent, false) then p.urgent_priority else p.default_priority end)
        end as effective_priority
    from tickets as t
    cross join params as p
    left join priorities as vp on vp.priority = t.source_priority
    left join lateral (
        select b.priority
        from priorities as b
        where t.affected_user_share >= b.affected_share_min
          and t.affected_user_share <= b.affected_share_max
        order by b.affected_share_min, b.priority desc
        limit 1
    ) as band on true
)

select
    t.ticket_id,
    t.customer_id,
    t.created_at,
    {{ utc_date('t.created_at') }} as created_on,
    t.ticket_type,
    t.ticket_type = 'complaint' as is_complaint,
    t.ticket_channel as channel,
    t.ticket_channel = 'bot' as is_bot_channel,
    t.source_priority,
    t.affected_user_share,
    t.priority_check,
    t.effective_priority as priority,
    t.priority_check <> 'valid' as is_priority_derived,
    coalesce(t.is_urgent, false) or t.effective_priority in ('P0', 'P1') as is_urgent,
    case when coalesce(t.is_urgent, false) or t.effective_priority in ('P0', 'P1') then 'urgent' else 'normal' end as urgency,
    coalesce(t.complexity, case when t.effective_priority in ('P0', 'P1') then 'complex' else 'simple' end) as complexity,
    t.complexity is null as is_complexity_derived,
    t.severity,
    t.category_l1,
    t.module_l2,
    t.stack_l3,
    t.complaint_type,
    {{ is_technical_complaint('t') }} as is_technical_complaint,
    t.ticket_status,
    t.ticket_status in ('open', 'pending', 'reopened') as is_open,
    t.first_response_at,
    t.resolved_at,
    t.closed_at,
    coalesce(t.reopened_count, 0) as reopened_count,
    t.crisis_event_id,
    coalesce(t.crisis_event_id, ic.crisis_event_id) as linked_crisis_event_id,
    case
        when t.crisis_event_id is not null then 'tagged'
        when ic.crisis_event_id is not null then 'affected_customer_window'
    end as crisis_link_method,
    tr.value_tier as customer_tier,
    t.language,
    e.emotion_class,
    e.polarity,
    e.polarity_score,
    e.crisis_triage_class,
    coalesce(e.has_risk_keyword, false) as has_risk_keyword,
    e.crisis_triage_class = 'immediate_intervention' as is_high_risk_emotion,
    t.updated_at
from prioritised as t
left join tiers as tr on tr.customer_id = t.customer_id
left join emotions as e on e.ticket_id = t.ticket_id
left join inferred_crisis as ic on ic.ticket_id = t.ticket_id
