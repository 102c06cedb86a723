{{ config(tags=['monitoring']) }}
{#- Monitoring breaches as alert rows (AL-14 drift, DQ-07, DQ-08, DQ-12, AL-20), shaped like
    int_alerts__evaluated and unioned into marts.alerts. The rule's level, class and recipients come from
    its alert_rules row; the comparator and threshold from the mart row (the marts decide status from
    policy parameters, once). A rule that is disabled, or not runnable under the policy profile, raises
    nothing. -#}
with rules as (
    select r.alert_code, r.level, r.level_rank, r.alert_class, r.rule_name, r.recipients
    from {{ policy_rows('alert_rules', ['alert_code', 'level']) }} as r
    join {{ ref('int_policy__rule_readiness') }} as ready on ready.rule_code = r.alert_code and ready.is_runnable
    where r.enabled
      and r.comparator = 'always'
      and r.alert_code in ('AL-14', 'DQ-07', 'DQ-08', 'DQ-12', 'AL-20')
),

breaches as (
    select d.alert_code,
           'drift:' || d.scope || ':' || d.feature || ':v' || d.model_version as scope,
           'psi' as metric,
           d.psi as metric_value,
           '>=' as comparator,
           d.psi_threshold as threshold,
           d.rows_current as items
    from {{ ref('monitoring_drift') }} as d
    where d.run_date = {{ run_date() }} and d.status = 'breach'

    union all

    select h.alert_code,
           'data:' || h.check_name || ':' || h.table_name as scope,
           h.metric,
           h.value,
           h.comparator,
           h.threshold,
           null::bigint
    from {{ ref('data_health') }} as h
    where h.run_date = {{ run_date() }} and h.status = 'breach'

    union all

    select p.alert_code,
           'pipeline:' || p.stage as scope,
           case when p.stage like 'list:%' then 'rows_vs_baseline'
                when p.stage_status = 'failed' then 'stage_failed'
                else 'duration_s' end as metric,
           case when p.stage like 'list:%' then p.rows::double precision else p.duration_s end,
           case when p.stage like 'list:%' then 'deviates by more than'
                when p.stage_status = 'failed' then 'always'
                else '> x median' end as comparator,
           p.threshold,
           p.rows
    from {{ ref('pipeline_health') }} as p
    where p.run_date = {{ run_date() }} and p.status = 'breach'
)

select
    b.alert_code,
    b.scope,
    r.level,
    r.level_rank,
    r.alert_class,
    r.rule_name,
    b.metric,
    b.metric_value,
    b.comparator,
    b.threshold,
    b.items,
    r.recipients
from breaches as b
join rules as r on r.alert_code = b.alert_code
