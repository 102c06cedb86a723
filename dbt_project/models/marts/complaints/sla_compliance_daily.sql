{#- CM-04 FRT / TTR compliance per creation day, tier, priority and channel, for every SLA clock
    (first_response, solution, resolution, closure). Compliance = met / (met + breached); tickets whose
    clock still runs inside the target are pending and left out until decided. Each run restates the last
    sla_compliance_lookback_days creation days (late resolutions change them); older days keep the value
    of the run that last restated them. The team dimension of CM-04 needs a team column that the landing
    contract does not carry.
    Window filters read their parameter as a scalar subquery over `params` (macro policy_param). -#}
with params as (
    select
        {{ policy_param('sla_compliance_lookback_days', 'integer') }} as lookback_days,
        {{ policy_param('frt_compliance_target') }} as compliance_target
),

tickets as (
    select t.*
    from {{ ref('fct_tickets') }} as t
    where t.run_date = {{ run_date() }}
      and t.created_on > {{ run_date() }} - (select lookback_days from params)
),

clocks as (
    select t.created_on, t.customer_tier, t.priority, t.channel, c.metric, c.target_minutes, c.breached, t.is_open
    from tickets as t
    cross join lateral (
        values
            ('first_response', t.frt_target_minutes, t.frt_breached),
            ('solution', t.solution_target_minutes, t.solution_breached),
            ('resolution', t.resolution_target_minutes, t.resolution_breached),
            ('closure', t.closure_target_minutes, t.closure_breached)
    ) as c (metric, target_minutes, breached)
    where c.target_minutes is not null
)

select
    {{ run_date() }} as run_date,
    c.created_on as day,
    coalesce(c.customer_tier, 'unknown') as customer_tier,
    c.priority,
    coalesce(c.channel, 'unknown') as channel,
    c.metric,
    count(*) as tickets_with_target,
    count(*) filter (where not c.breached) as met,
    count(*) filter (where c.breached) as breached,
    count(*) filter (where c.breached is null) as pending,
    count(*) filter (where c.breached and c.is_open) as overdue_open,
    (count(*) filter (where not c.breached))::double precision
        / nullif(count(*) filter (where c.breached is not null), 0) as compliance_rate,
    p.compliance_target,
    (count(*) filter (where not c.breached))::double precision
        / nullif(count(*) filter (where c.breached is not null), 0) < p.compliance_target as is_below_target,
    {{ policy_version() }} as policy_version
from clocks as c
cross join params as p
where {{ require_rule_params(['CM-04']) }}
group by c.created_on, coalesce(c.customer_tier, 'unknown'), c.priority, coalesce(c.channel, 'unknown'), c.metric, p.compliance_target
