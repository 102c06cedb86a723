{#- Daily alerts (seed_spec 3.9 AL-01..AL-12, 7.10), one row per (run_date, alert_code, scope): the rule,
    its level and class (AL-07), the metric value and the threshold that was met, and the policy version.
    Alerts are data: notification is a later step. Enabled rules whose parameters are unset fail this
    model (require_rule_params); disabled rules raise nothing. -#}
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
