{#- CM-15 crisis linkage, one row per crisis event started by the run date: the tickets linked to it
    (tagged crisis_event_id, or an affected customer's ticket inside the crisis window), their complaint
    and negative-emotion counts, the surveys that name it, and the response level of its opinion and
    scope levels (crisis_levels seed, seed_spec 7.12). -#}
with events as (
    select *
    from {{ ref('stg_crm__crisis_events') }}
    where started_at < {{ run_end() }}
),

levels as (
    select dimension, level, response
    from {{ policy_rows('crisis_levels', ['dimension', 'level']) }} as l
),

tickets as (
    select
        linked_crisis_event_id as crisis_event_id,
        count(*) as linked_tickets,
        count(*) filter (where crisis_link_method = 'tagged') as tagged_tickets,
        count(*) filter (where crisis_link_method = 'affected_customer_window') as inferred_tickets,
        count(*) filter (where is_complaint) as linked_complaints,
        count(*) filter (where polarity is not null) as classified_tickets,
        count(*) filter (where polarity = 'negative') as negative_tickets,
        count(distinct customer_id) as customers_with_ticket
    from {{ ref('fct_tickets') }}
    where run_date = {{ run_date() }}
      and linked_crisis_event_id is not null
    group by linked_crisis_event_id
),

surveys as (
    select related_crisis_event_id as crisis_event_id, count(*) as linked_surveys
    from {{ ref('int_feedback__surveys_latest') }}
    where related_crisis_event_id is not null
      and sent_at < {{ run_end() }}
    group by related_crisis_event_id
),

affected as (
    select crisis_event_id, count(*) as affected_customers
    from {{ ref('stg_crm__crisis_affected_customers') }}
    group by crisis_event_id
)

select
    {{ run_date() }} as run_date,
    e.crisis_event_id,
    e.crisis_type,
    e.scope_level,
    e.opinion_level,
    e.started_at,
    e.resolved_at,
    e.resolved_at is null or e.resolved_at >= {{ run_end() }} as is_active,
    lo.response as opinion_level_response,
    ls.response as scope_level_response,
    coalesce(a.affected_customers, 0) as affected_customers,
    coalesce(t.linked_tickets, 0) as linked_tickets,
    coalesce(t.tagged_tickets, 0) as tagged_tickets,
    coalesce(t.inferred_tickets, 0) as inferred_tickets,
    coalesce(t.linked_complaints, 0) as linked_complaints,
    coalesce(t.customers_with_ticket, 0) as customers_with_ticket,
    coalesce(t.negative_tickets, 0) as negative_tickets,
    t.negative_tickets::double precision / nullif(t.classified_tickets, 0) as negative_share,
    coalesce(s.linked_surveys, 0) as linked_surveys,
    {{ policy_version() }} as policy_version
from events as e
left join levels as lo on lo.dimension = 'opinion_level' and lo.level = e.opinion_level
left join levels as ls on ls.dimension = 'scope_level' and ls.level = e.scope_level
left join tickets as t on t.crisis_event_id = e.crisis_event_id
left join surveys as s on s.crisis_event_id = e.crisis_event_id
left join affected as a on a.crisis_event_id = e.crisis_event_id
where {{ require_rule_params(['CM-15']) }}
