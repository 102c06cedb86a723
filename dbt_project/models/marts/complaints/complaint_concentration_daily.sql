{#- CM-14 complaint concentration: complaints created on the run date per product module (module_l2)
    against the module's baseline = mean daily complaints over the complaint_concentration_baseline_days
    before the run date. Feeds AL-06 (mass revisit; threshold complaint_concentration_alert is [U]) and,
    through the `all` row, AL-05 (complaint growth).
    Window filters read their parameter as a scalar subquery over `params` (macro policy_param). -#}
with params as (
    select {{ policy_param('complaint_concentration_baseline_days', 'integer') }} as baseline_days
),

complaints as (
    select coalesce(t.module_l2, 'unknown') as module_l2, t.created_on
    from {{ ref('fct_tickets') }} as t
    where t.run_date = {{ run_date() }}
      and t.is_complaint
      and t.created_on >= {{ run_date() }} - (select baseline_days from params)
),

per_scope as (
    select
        scope.module_l2,
        count(*) filter (where c.created_on = {{ run_date() }}) as complaints_today,
        count(*) filter (where c.created_on < {{ run_date() }}) as complaints_baseline_period
    from complaints as c
    cross join lateral (values (c.module_l2), ('all')) as scope (module_l2)
    group by scope.module_l2
)

select
    {{ run_date() }} as run_date,
    s.module_l2,
    s.complaints_today,
    s.complaints_baseline_period::double precision / p.baseline_days as baseline_daily_mean,
    (s.complaints_today / nullif(s.complaints_baseline_period::double precision / p.baseline_days, 0)) as concentration_ratio,
    s.complaints_today::double precision
        / nullif(sum(s.complaints_today) filter (where s.module_l2 <> 'all') over (), 0) as share_of_today,
    {{ policy_version() }} as policy_version
from per_scope as s
cross join params as p
where {{ require_rule_params(['CM-14']) }}
