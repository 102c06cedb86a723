{#- RP-03 crisis KPIs per event started by the run date, over its affected customers
    (crisis_affected_customers), comparing the crisis_kpi_window_days before the crisis started with the
    same number of days after it was resolved (after it started while it is unresolved):
      repurchase  = share of affected customers with a non-cancelled order in the window (as revenue
                    counts orders); recovery = post / pre, meets_recovery_target = recovery >=
                    crisis_recovery_target (seed: >= 85 %), decided only once the post window has passed
                    and on bases of outcome_min_group_size (as crisis_kpis judges it: macro
                    crisis_kpi_bases_suffice);
      complaints  = complaints per affected customer in the window (change in complaint rate);
      CSAT        = mean CSAT score of the affected customers' responses in the window (satisfaction
                    rebound = post - pre).
    The post window is cut at the run date, so an immature row shows the figures so far (is_mature
    false). Churn uplift, win-back revival, loyalty uplift and recurrence of the same problem (the rest
    of RP-03) are in crisis_effects; crisis_kpis judges all of them against their targets. The windows
    are int_crisis__windows, the purchases per window int_crisis__affected_purchases (shared with
    crisis_effects). The one-row `params` is read through scalar subqueries, not a cross join (with
    enable_nestloop = off a cross join is costed as disabled and switches on JIT). -#}
with params as (
    select
        {{ policy_param('crisis_recovery_target') }} as recovery_target,
        {{ policy_param('outcome_min_group_size', 'integer') }} as min_group_size,
        {{ policy_version() }} as policy_version
),

events as (
    select * from {{ ref('int_crisis__windows') }}
),

affected as (
    select * from {{ ref('int_crisis__affected_purchases') }}
),

complaints as (
    select
        a.crisis_event_id,
        count(*) filter (where t.created_at < e.started_at) as complaints_pre,
        count(*) filter (where t.created_at >= e.post_start) as complaints_post
    from affected as a
    inner join events as e on e.crisis_event_id = a.crisis_event_id
    inner join {{ ref('stg_crm__tickets') }} as t
        on t.customer_id = a.customer_id
       and t.ticket_type = 'complaint'
       and {{ in_crisis_kpi_windows('t.created_at') }}
    group by a.crisis_event_id
),

csat as (
    select
        a.crisis_event_id,
        avg(s.score) filter (where s.responded_at < e.started_at) as csat_pre,
        avg(s.score) filter (where s.responded_at >= e.post_start) as csat_post
    from affected as a
    inner join events as e on e.crisis_event_id = a.crisis_event_id
    inner join {{ ref('int_feedback__surveys_latest') }} as s
        on s.customer_id = a.customer_id
       and s.survey_type = 'CSAT'
       and s.score is not null
       and {{ in_crisis_kpi_windows('s.responded_at') }}
    group by a.crisis_event_id
),

per_event as (
    select
        e.crisis_event_id,
        count(a.customer_id) as affected_customers,
        count(*) filter (where a.bought_pre) as buyers_pre,
        count(*) filter (where a.bought_post) as buyers_post
    from events as e
    left join affected as a on a.crisis_event_id = e.crisis_event_id
    group by e.crisis_event_id
),

measured as (
    select
        e.*,
        n.affected_customers,
        n.buyers_pre,
        n.buyers_post,
        n.buyers_pre::numeric / nullif(n.affected_customers, 0) as repurchase_pre,
        n.buyers_post::numeric / nullif(n.affected_customers, 0) as repurchase_post,
        coalesce(c.complaints_pre, 0)::numeric / nullif(n.affected_customers, 0) as complaints_per_customer_pre,
        coalesce(c.complaints_post, 0)::numeric / nullif(n.affected_customers, 0) as complaints_per_customer_post,
        s.csat_pre,
        s.csat_post
    from events as e
    inner join per_event as n on n.crisis_event_id = e.crisis_event_id
    left join complaints as c on c.crisis_event_id = e.crisis_event_id
    left join csat as s on s.crisis_event_id = e.crisis_event_id
)

select
    {{ run_date() }} as run_date,
    m.crisis_event_id,
    m.crisis_type,
    m.started_at,
    m.resolved_at,
    m.is_mature,
    m.affected_customers,
    m.buyers_pre,
    m.buyers_post,
    m.repurchase_pre::double precision as repurchase_pre,
    m.repurchase_post::double precision as repurchase_post,
    (m.repurchase_post / nullif(m.repurchase_pre, 0))::double precision as repurchase_recovery,
    case
        when m.is_mature and m.repurchase_pre > 0
         and {{ crisis_kpi_bases_suffice('m.affected_customers', 'm.buyers_pre', '(select min_group_size from params)') }}
            then m.repurchase_post / m.repurchase_pre >= (select recovery_target from params)
    end as meets_recovery_target,
    m.complaints_per_customer_pre::double precision as complaints_per_customer_pre,
    m.complaints_per_customer_post::double precision as complaints_per_customer_post,
    m.csat_pre::double precision as csat_pre,
    m.csat_post::double precision as csat_post,
    (m.csat_post - m.csat_pre)::double precision as csat_rebound,
    m.window_days,
    (select recovery_target from params)::double precision as recovery_target,
    (select policy_version from params) as policy_version
from measured as m
