{{ config(tags=["lists"]) }}
{#- Crisis events started by the run date with their state on it (seed_spec 2.8): active = not resolved
    by the end of the run date; days_since_resolved counts from the resolution date. One row per event and
    affected customer (customer_id null for an event nobody is listed as affected by, so crisis mode and
    crisis-level rules still see it). -#}
with events as (
    select
        ce.crisis_event_id,
        ce.crisis_type,
        ce.opinion_level,
        ce.scope_level,
        ce.started_at,
        ce.resolved_at,
        ce.resolved_at is null or ce.resolved_at >= {{ run_end() }} as is_active,
        case when ce.resolved_at < {{ run_end() }}
             then {{ run_date() }} - {{ utc_date('ce.resolved_at') }} end as days_since_resolved
    from {{ ref('stg_crm__crisis_events') }} as ce
    where ce.started_at < {{ run_end() }}
)

select e.*, ac.customer_id, ac.impact_type, ac.impact_value
from events as e
left join {{ ref('stg_crm__crisis_affected_customers') }} as ac on ac.crisis_event_id = e.crisis_event_id
