{#- Ticket fact (CM-01), one row per ticket created by the run date, in its latest state as of the run
    date (int_complaints__tickets_latest keeps the latest re-exported version; a later run date restates
    the ticket). Derived
    attributes come from int_complaints__tickets (CM-02, 2.5, CM-09, CM-15); the effective SLA target per
    clock and its breach flag from int_complaints__ticket_sla_targets (CM-03); the tag weight (CM-05);
    post-closure survey tracking (CM-12); secondary contacts (CM-08, only while the rule is runnable). -#}
with tickets as (
    select * from {{ ref('int_complaints__tickets') }}
),

params as (
    select
        {{ policy_param('csat_send_within_hours') }} as csat_hours,
        {{ policy_param('revisit_max_days_after_resolution') }} as revisit_days,
        {{ policy_param('nps_detractor_max') }} as nps_detractor_max,
        {{ policy_param('repeat_contact_window_days') }} as repeat_days,
        {{ rule_enabled('CM-08') }} as secondary_enabled
),

effective as (
    select
        ticket_id,
        min(target_minutes) filter (where metric = 'first_response') as frt_target_minutes,
        max(sla_key) filter (where metric = 'first_response' and is_effective) as frt_sla_key,
        min(target_minutes) filter (where metric = 'solution') as solution_target_minutes,
        max(sla_key) filter (where metric = 'solution' and is_effective) as solution_sla_key,
        min(target_minutes) filter (where metric = 'resolution') as resolution_target_minutes,
        max(sla_key) filter (where metric = 'resolution' and is_effective) as resolution_sla_key,
        min(target_minutes) filter (where metric = 'closure') as closure_target_minutes,
        max(sla_key) filter (where metric = 'closure' and is_effective) as closure_sla_key,
        count(*) as applicable_sla_targets
    from {{ ref('int_complaints__ticket_sla_targets') }}
    group by ticket_id
),

previous_contact as (
    select
        ticket_id,
        lag(coalesce(resolved_at, closed_at)) over (
            partition by customer_id, module_l2 order by created_at, ticket_id
        ) as previous_resolved_at
    from tickets
    where customer_id is not null
),

clocks as (
    select
        t.*,
        {#- a ticket resolved or closed without a recorded first response is answered by then -#}
        coalesce(t.first_response_at, t.resolved_at, t.closed_at) as responded_at,
        coalesce(t.resolved_at, t.closed_at) as resolution_at,
        coalesce(t.closed_at, case when t.ticket_status = 'closed' then t.resolved_at end) as closure_at,
        e.frt_target_minutes,
        e.frt_sla_key,
        e.solution_target_minutes,
        e.solution_sla_key,
        e.resolution_target_minutes,
        e.resolution_sla_key,
        e.closure_target_minutes,
        e.closure_sla_key,
        coalesce(e.applicable_sla_targets, 0) as applicable_sla_targets
    from tickets as t
    left join effective as e on e.ticket_id = t.ticket_id
),

flagged as (
    select
        c.*,
        {{ sla_breach('c.created_at', 'c.responded_at', 'c.frt_target_minutes') }} as frt_breached,
        {{ sla_breach('c.created_at', 'c.resolution_at', 'c.solution_target_minutes') }} as solution_breached,
        {{ sla_breach('c.created_at', 'c.resolution_at', 'c.resolution_target_minutes') }} as resolution_breached,
        {{ sla_breach('c.created_at', 'c.closure_at', 'c.closure_target_minutes') }} as closure_breached
    from clocks as c
)

select
    {{ run_date() }} as run_date,
    t.ticket_id,
    t.customer_id,
    t.created_at,
    t.created_on,
    t.ticket_type,
    t.is_complaint,
    t.channel,
    t.is_bot_channel,
    t.source_priority,
    t.priority,
    t.priority_check,
    t.is_priority_derived,
    t.affected_user_share,
    t.is_urgent,
    t.urgency,
    t.complexity,
    t.is_complexity_derived,
    t.severity,
    t.category_l1,
    t.module_l2,
    t.stack_l3,
    t.complaint_type,
    t.is_technical_complaint,
    t.ticket_status,
    t.is_open,
    t.first_response_at,
    t.resolved_at,
    t.closed_at,
    {{ minutes_between('t.created_at', 't.first_response_at') }} as frt_minutes,
    {{ minutes_between('t.created_at', 't.resolved_at') }} as ttr_minutes,
    t.reopened_count,
    t.reopened_count > 0 as is_reopened,
    t.crisis_event_id,
    t.linked_crisis_event_id,
    t.crisis_link_method,
    t.customer_tier,
    t.language,
    t.emotion_class,
    t.polarity,
    t.polarity_score,
    t.crisis_triage_class,
    t.has_risk_keyword,
    t.is_high_risk_emotion,
    coalesce(t.is_high_risk_emotion and t.is_urgent, false) as escalated_on_emotion,
    w.tag_priority_weight,
    t.applicable_sla_targets,
    t.frt_target_minutes,
    t.frt_sla_key,
    t.frt_breached,
    t.solution_target_minutes,
    t.solution_sla_key,
    t.solution_breached,
    t.resolution_target_minutes,
    t.resolution_sla_key,
    t.resolution_breached,
    t.closure_target_minutes,
    t.closure_sla_key,
    t.closure_breached,
    coalesce(t.frt_breached or t.solution_breached or t.resolution_breached or t.closure_breached, false) as is_sla_breached,
    t.is_open and coalesce(
        (t.responded_at is null and t.frt_breached)
        or (t.resolution_at is null and (t.solution_breached or t.resolution_breached))
        or (t.closure_at is null and t.closure_breached), false) as is_overdue,
    f.csat_sent_at,
    case
        when t.closure_at is null then null
        when f.csat_sent_at <= t.closure_at + make_interval(hours => p.csat_hours::integer) then true
        when {{ run_end() }} > t.closure_at + make_interval(hours => p.csat_hours::integer) then false
    end as csat_sent_within_24h,
    case when t.is_complaint then f.revisit_sent_at end as revisit_sent_at,
    case
        when not t.is_complaint or t.resolution_at is null then null
        when f.revisit_sent_at <= t.resolution_at + make_interval(days => p.revisit_days::integer) then true
        when {{ run_end() }} > t.resolution_at + make_interval(days => p.revisit_days::integer) then false
    end as revisit_done_within_7d,
    case when t.is_complaint then f.revisit_score end as revisit_score,
    case when t.is_complaint then f.revisit_responded_at end as revisit_responded_at,
    case
        when not t.is_complaint or f.revisit_responded_at is null then null
        else coalesce(f.revisit_score <= p.nps_detractor_max, false) or coalesce(f.revisit_comment_polarity = 'negative', false)
    end as dissatisfied_after_revisit,
    case
        when p.secondary_enabled and pc.previous_resolved_at is not null
            then pc.previous_resolved_at <= t.created_at
             and t.created_at < pc.previous_resolved_at + make_interval(days => p.repeat_days::integer)
        when p.secondary_enabled then false
    end as is_secondary_contact,
    {{ policy_version() }} as policy_version
from flagged as t
cross join params as p
left join {{ ref('int_complaints__ticket_priority_weight') }} as w on w.ticket_id = t.ticket_id
left join {{ ref('int_complaints__ticket_followups') }} as f on f.ticket_id = t.ticket_id
left join previous_contact as pc on pc.ticket_id = t.ticket_id
where {{ require_rule_params(['CM-02', 'CM-05', 'CM-08', 'CM-12']) }}
