{#- Ticket fact (CM-01), one row per ticket created by the run date, in its latest state as of the run
    date. FRT / TTR per seed_spec 2.6; priority validated or derived when absent (CM-02, 2.5). SLA
    targets and breach flags (CM-03) come next from the sla_targets seed. -#}
with tickets as (
    select *
    from {{ ref('stg_crm__tickets') }}
    where created_at < {{ run_end() }}
),

params as (
    select
        {{ policy_param('default_ticket_priority', 'text') }} as default_priority,
        {{ policy_param('urgent_ticket_priority', 'text') }} as urgent_priority
)

select
    {{ run_date() }} as run_date,
    t.ticket_id,
    t.customer_id,
    t.created_at,
    {{ utc_date('t.created_at') }} as created_on,
    t.ticket_type,
    t.ticket_type = 'complaint' as is_complaint,
    t.ticket_channel as channel,
    coalesce(t.source_priority, case when t.is_urgent then p.urgent_priority else p.default_priority end) as priority,
    t.source_priority is null as is_priority_derived,
    coalesce(t.is_urgent, false) or t.source_priority in ('P0', 'P1') as is_urgent,
    t.complexity,
    t.severity,
    t.category_l1,
    t.module_l2,
    t.complaint_type,
    (t.ticket_type = 'complaint'
        and (t.category_l1 in ('function', 'performance', 'security') or t.complaint_type = 'technical')
    ) as is_technical_complaint,
    t.ticket_status,
    t.ticket_status in ('open', 'pending', 'reopened') as is_open,
    t.first_response_at,
    t.resolved_at,
    t.closed_at,
    {{ minutes_between('t.created_at', 't.first_response_at') }} as frt_minutes,
    {{ minutes_between('t.created_at', 't.resolved_at') }} as ttr_minutes,
    coalesce(t.reopened_count, 0) as reopened_count,
    t.crisis_event_id,
    t.language,
    {{ policy_version() }} as policy_version
from tickets as t
cross join params as p
