{#- RP-03: the windows every crisis KPI is measured over, one row per crisis event started by the run
    date (crisis_effects and crisis_recovery both read it, so the windows are written once).
    With W = crisis_kpi_window_days:
      base   = [start - 2W, start - W)   the window before the one before (churn before the crisis);
      pre    = [start - W, start)        before the crisis;
      post   = [post_start, post_cut)    W days from the resolution (from the start while unresolved),
                                         cut at the run date's end; is_mature once it has passed.
    The time during a resolved crisis is in no window. No row while crisis_kpi_window_days is unset
    (strict profile: no RP-03 KPIs). Parameters through scalar subqueries, never a cross join. -#}
with params as (
    select {{ policy_param('crisis_kpi_window_days', 'integer') }} as window_days
)

select
    e.crisis_event_id,
    e.crisis_type,
    e.started_at,
    e.resolved_at,
    {{ utc_date('e.started_at') }} as start_date,
    {{ utc_date('e.resolved_at') }} as resolved_date,
    e.started_at - 2 * make_interval(days => (select window_days from params)) as base_start,
    e.started_at - make_interval(days => (select window_days from params)) as pre_start,
    coalesce(e.resolved_at, e.started_at) as post_start,
    least(coalesce(e.resolved_at, e.started_at) + make_interval(days => (select window_days from params)),
          {{ run_end() }}) as post_cut,
    coalesce(e.resolved_at, e.started_at) + make_interval(days => (select window_days from params))
        <= {{ run_end() }} as is_mature,
    (select window_days from params) as window_days
from {{ ref('stg_crm__crisis_events') }} as e
where e.started_at < {{ run_end() }}
  and (select window_days from params) is not null
