{#- Daily alerts (seed_spec 3.9 AL-01..AL-12, 7.10), one row per (run_date, alert_code, scope): the rule,
    its level and class (AL-07), the metric value and the threshold that was met, and the policy version.
    Alerts are data: notification is a later step. Enabled rules whose parameters are unset fail this
    model (require_rule_params); disabled rules raise nothing. Unioned below: DQ-06 (NLP quality gate) and
    DQ-11 (overdue CP-11 compensation progress notifications, marts.compensation_notifications). -#}
select
    {{ run_date() }} as run_date,
    e.alert_code,
    e.level,
    e.level_rank,
    e.alert_class,
    e.rule_name,
    e.scope,
    e.metric,
    e.metric_value,
    e.comparator,
    e.threshold,
    e.items,
    e.recipients,
    e.alert_code || ' ' || e.rule_name || ' [' || e.level || '] ' || e.scope || ': ' || e.metric || ' = '
        || round(e.metric_value::numeric, 4)::text
        || case when e.comparator = 'always' then '' else ' ' || e.comparator || ' ' || e.threshold::text end
        as message,
    {{ policy_version() }} as policy_version
from {{ ref('int_alerts__evaluated') }} as e
where {{ require_rule_params(['AL-01', 'AL-02', 'AL-03', 'AL-04', 'AL-05', 'AL-06', 'AL-08', 'AL-09', 'AL-10', 'AL-11', 'AL-12', 'AL-13', 'AL-14', 'AL-15', 'AL-16', 'AL-19']) }}

union all

-- DQ-06: the text-enrichment task's NLP quality gate (raised in Python, before dbt)
select
    q.run_date,
    q.alert_code,
    q.level,
    2 as level_rank,
    'important' as alert_class,
    'NLP quality gate' as rule_name,
    q.scope,
    'nlp_negative_accuracy' as metric,
    q.metric_value,
    '<' as comparator,
    q.threshold,
    null::bigint as items,
    'data team' as recipients,
    q.message,
    coalesce(q.policy_version, {{ policy_version() }}) as policy_version
from {{ ref('stg_enrichment__quality_alerts') }} as q

union all

-- DQ-11 / CP-11: published compensation rows whose progress notification is overdue (the rule's level,
-- class and recipients come from its alert_rules row; disabled there = no rows)
select
    n.run_date,
    r.alert_code,
    r.level,
    r.level_rank,
    r.alert_class,
    r.rule_name,
    'compensation:' || n.customer_id || ':' || n.ledger_key as scope,
    r.metric,
    n.days_overdue::double precision as metric_value,
    r.comparator,
    r.threshold,
    1::bigint as items,
    r.recipients,
    r.alert_code || ' ' || r.rule_name || ' [' || r.level || '] customer ' || n.customer_id || ', '
        || n.ledger_key || ' (list of ' || n.list_run_date::text || '): no compensation_notice contact, due '
        || n.notice_due_date::text || ', ' || n.days_overdue::text || ' day(s) overdue' as message,
    n.policy_version
from {{ ref('compensation_notifications') }} as n
join {{ policy_rows('alert_rules', ['alert_code', 'level']) }} as r
  on r.alert_code = 'DQ-11' and r.enabled
where n.status = 'overdue'

union all

-- Monitoring breaches (AL-14 drift, DQ-07, DQ-08, DQ-12, AL-20): marts.monitoring_drift, data_health and
-- pipeline_health, via int_alerts__monitoring. The nightly rebuilds this mart after its monitoring step.
select
    {{ run_date() }} as run_date,
    m.alert_code,
    m.level,
    m.level_rank,
    m.alert_class,
    m.rule_name,
    m.scope,
    m.metric,
    m.metric_value,
    m.comparator,
    m.threshold::numeric,
    m.items,
    m.recipients,
    m.alert_code || ' ' || m.rule_name || ' [' || m.level || '] ' || m.scope || ': ' || m.metric || ' = '
        || coalesce(round(m.metric_value::numeric, 4)::text, 'n/a')
        || case when m.comparator = 'always' then '' else ' ' || m.comparator || ' ' || coalesce(m.threshold::text, 'n/a') end
        as message,
    {{ policy_version() }} as policy_version
from {{ ref('int_alerts__monitoring') }} as m
