{{ config(tags=['alerts']) }}
{#- AL-01..AL-12 levels (seed_spec 3.9 / 7.10): every metric row of int_alerts__metrics is compared with
    each enabled level of its rule in the alert_rules seed (comparator and threshold are data; the
    threshold is the policy parameter threshold_param, else the literal threshold). The highest
    level_rank that holds wins; a metric that meets no level raises nothing. AL-01 example with the
    shipped policy: share <= 0.15 blue, > 0.15 yellow, >= 0.40 red. Thresholds and on/off follow the policy
    profile (policy_value, int_policy__rule_readiness). -#}
with rules as (
    select
        r.alert_code,
        r.level,
        r.level_rank,
        r.rule_name,
        r.metric,
        r.comparator,
        r.alert_class,
        r.recipients,
        coalesce({{ policy_value('p') }}::numeric, r.threshold) as threshold
    from {{ policy_rows('alert_rules', ['alert_code', 'level']) }} as r
    left join {{ policy_rows('policy_parameters', ['key']) }} as p on p.key = r.threshold_param
    -- the policy profile is decided once, in the readiness model: a rule whose parameters are only
    -- starter defaults stays off under `strict`
    join {{ ref('int_policy__rule_readiness') }} as ready on ready.rule_code = r.alert_code and ready.is_runnable
    where r.enabled
),

matched as (
    select
        m.alert_code,
        m.scope,
        m.metric_value,
        m.items,
        r.level,
        r.level_rank,
        r.rule_name,
        r.metric,
        r.comparator,
        r.threshold,
        r.alert_class,
        r.recipients,
        row_number() over (partition by m.alert_code, m.scope order by r.level_rank desc, r.level) as level_order
    from {{ ref('int_alerts__metrics') }} as m
    join rules as r
      on r.alert_code = m.alert_code
     -- metrics that name themselves (AL-14: roc_auc, roc_auc_drop) meet only their own rule levels
     and (m.metric is null or m.metric = r.metric)
    where {{ compare_to_threshold('m.metric_value', 'r.comparator', 'r.threshold') }}
)

select
    alert_code,
    scope,
    level,
    level_rank,
    alert_class,
    rule_name,
    metric,
    metric_value,
    comparator,
    threshold,
    items,
    recipients
from matched
where level_order = 1
