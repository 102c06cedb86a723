{#- Compensation candidate list for var('run_date') (seed_spec 3.8), rebuilt each run in lists_build.
      CP-01 complaint compensation: complaints resolved in the last complaint_comp_lookback_days (run date
            included), package from compensation_matrix by the customer's value tier (the most specific
            enabled row for severity / complaint type wins). Rows with an unset amount stay disabled.
      CP-03 service-outage crisis: customers affected by a service_outage crisis that is active or was
            resolved within post_crisis_offer_window_days get loyalty points so that points earned during
            the crisis window are multiplied by outage_points_multiplier: points = (multiplier - 1) x earned
            (basis [D]; customers with no points earned get no row).
    Triggers already compensated in raw compensations (same ticket / crisis event, customer and round)
    are excluded (CP-14). One row per (customer, rule, trigger, round). due_by = trigger date +
    compensation_due_days (null while unset, CP-13). -#}
with params as (
    select
        {{ policy_param('complaint_comp_lookback_days', 'integer') }} as lookback_days,
        {{ policy_param('compensation_due_days', 'integer') }} as due_days,
        {{ policy_param('outage_points_multiplier') }} as outage_points_multiplier,
        {{ policy_param('post_crisis_offer_window_days', 'integer') }} as post_crisis_offer_window_days
),

matrix as (
    select *
    from {{ policy_rows('compensation_matrix', ['trigger', 'tier', 'severity', 'complaint_type']) }} as m
    where enabled
),

customers as (
    select customer_id, value_tier
    from {{ ref('customer_value') }}
    where run_date = {{ run_date() }}
),

granted as (
    select customer_id, ticket_id, crisis_event_id, round_no
    from {{ ref('stg_crm__compensations') }}
    where issued_at < {{ run_end() }}
),

run_model as (
    select max(model_version) as model_version
    from {{ ref('stg_scoring__churn_scores') }}
    where run_date = {{ run_date() }}
),

resolved_complaints as (
    select t.*
    from {{ ref('fct_tickets') }} as t
    cross join params as p
    where t.run_date = {{ run_date() }}
      and t.is_complaint
      and t.customer_id is not null
      and t.resolved_at is not null
      and {{ utc_date('t.resolved_at') }} > {{ run_date() }} - p.lookback_days
),

cp01 as (
    select
        t.customer_id,
        'CP-01' as rule_code,
        'complaint' as trigger_type,
        t.ticket_id,
        t.crisis_event_id,
        1 as round_no,
        m.package_code,
        m.amount,
        m.points,
        {{ utc_date('t.resolved_at') }} + p.due_days as due_by,
        row_number() over (
            partition by t.ticket_id
            order by (m.severity <> 'any') desc, (m.complaint_type <> 'any') desc, m.package_code
        ) as match_rank
    from resolved_complaints as t
    join customers as c on c.customer_id = t.customer_id
    join matrix as m
      on m.trigger = 'complaint'
     and m.tier in (c.value_tier, 'any')
     and m.severity in (coalesce(t.severity, 'any'), 'any')
     and m.complaint_type in (coalesce(t.complaint_type, 'any'), 'any')
    cross join params as p
    where not exists (
        select 1 from granted as g
        where g.ticket_id = t.ticket_id and g.customer_id = t.customer_id and g.round_no = 1
    )
),

outages as (
    select ce.crisis_event_id, ce.started_at, coalesce(ce.resolved_at, {{ run_end() }}) as window_end_at
    from {{ ref('stg_crm__crisis_events') }} as ce
    cross join params as p
    where ce.crisis_type = 'service_outage'
      and ce.started_at < {{ run_end() }}
      and (ce.resolved_at is null
           or ce.resolved_at >= {{ run_end() }} - make_interval(days => p.post_crisis_offer_window_days))
),

outage_points as (
    select
        ac.customer_id,
        o.crisis_event_id,
        o.started_at,
        coalesce(sum(ord.points_earned), 0) as points_earned_in_window
    from outages as o
    join {{ ref('stg_crm__crisis_affected_customers') }} as ac on ac.crisis_event_id = o.crisis_event_id
    left join {{ ref('stg_crm__orders') }} as ord
      on ord.customer_id = ac.customer_id
     and ord.order_status <> 'cancelled'
     and ord.order_ts >= o.started_at
     and ord.order_ts < o.window_end_at
     and ord.order_ts < {{ run_end() }}
    group by ac.customer_id, o.crisis_event_id, o.started_at
),

cp03 as (
    select
        op.customer_id,
        'CP-03' as rule_code,
        'crisis:service_outage' as trigger_type,
        null::text as ticket_id,
        op.crisis_event_id,
        1 as round_no,
        m.package_code,
        null::numeric as amount,
        (op.points_earned_in_window * (p.outage_points_multiplier - 1))::bigint as points,
        {{ run_date() }} + p.due_days as due_by,
        1 as match_rank
    from outage_points as op
    join matrix as m on m.trigger = 'crisis:service_outage'
    cross join params as p
    where op.points_earned_in_window > 0
      and not exists (
          select 1 from granted as g
          where g.crisis_event_id = op.crisis_event_id and g.customer_id = op.customer_id and g.round_no = 1
      )
),

candidates as (
    select * from cp01 where match_rank = 1
    union all
    select * from cp03
)

select
    {{ run_date() }} as run_date,
    c.customer_id,
    c.rule_code,
    c.trigger_type,
    c.ticket_id,
    c.crisis_event_id,
    c.round_no,
    c.package_code,
    c.amount::numeric(18, 2) as amount,
    c.points,
    c.due_by,
    rm.model_version,
    {{ policy_version() }} as policy_version
from candidates as c
cross join run_model as rm
where {{ require_rule_params(['CP-01', 'CP-03']) }}
