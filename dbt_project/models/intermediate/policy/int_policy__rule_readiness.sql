{#- One row per retention (RL-xx), compensation (CP-xx), complaint-mart (CM-xx) and alert (AL-xx) rule in
    force on the run date: is it enabled, and which of the parameters it needs are unset (DQ-17). `require_rule_params()` and the data test on this
    model make an enabled rule with an unset [U] parameter fail loudly (seed_spec 0.3 / 7).
    Policy profile (macro policy_profile): `starter_params` lists the parameters the rule needs that are on a
    labelled starter default. Under `strict` those count as unset and a rule needing one is switched off
    (is_enabled false, the parameter in missing_params), exactly as before the starter defaults existed; so are
    compensation_matrix rows tagged starter. Every list, alert and mart reads is_enabled / is_runnable from
    here, so the profile is decided in this one place. -#}
with retention as (
    select rule_code, enabled as is_enabled, coalesce(required_params, '') as required_params
    from {{ policy_rows('retention_rules', ['rule_code']) }} as r
),

compensation as (
    select
        rule_code,
        bool_or({{ policy_row_enabled('m') }}) as is_enabled,
        coalesce(string_agg(distinct nullif(required_params, ''), '|'), '') as required_params
    from {{ policy_rows('compensation_matrix', ['trigger', 'tier', 'severity', 'complaint_type']) }} as m
    group by rule_code
),

complaint as (
    select rule_code, enabled as is_enabled, coalesce(required_params, '') as required_params
    from {{ policy_rows('complaint_rules', ['rule_code']) }} as c
),

{#- An alert rule has one row per level; it is enabled when any level is, and needs every level's
    parameters plus the threshold parameters themselves. -#}
alert as (
    select
        alert_code as rule_code,
        bool_or(enabled) as is_enabled,
        coalesce(string_agg(distinct nullif(concat_ws('|', nullif(required_params, ''), nullif(threshold_param, '')), ''), '|'), '') as required_params
    from {{ policy_rows('alert_rules', ['alert_code', 'level']) }} as a
    group by alert_code
),

rules as (
    select rule_code, is_enabled, required_params, 'retention' as rule_family from retention
    union all
    select rule_code, is_enabled, required_params, 'compensation' as rule_family from compensation
    union all
    select rule_code, is_enabled, required_params, 'complaint' as rule_family from complaint
    union all
    select rule_code, is_enabled, required_params, 'alert' as rule_family from alert
),

needs as (
    select rules.rule_code, trim(param_key) as param_key
    from rules
    cross join lateral unnest(string_to_array(nullif(rules.required_params, ''), '|')) as param_key
),

params as (
    select key, {{ policy_value('p') }} as value, p.tag = 'starter' as is_starter
    from {{ policy_rows('policy_parameters', ['key']) }} as p
),

missing as (
    select needs.rule_code, string_agg(distinct needs.param_key, ', ' order by needs.param_key) as missing_params
    from needs
    left join params on params.key = needs.param_key
    where params.value is null
    group by needs.rule_code
),

starter as (
    select needs.rule_code, string_agg(distinct needs.param_key, ', ' order by needs.param_key) as starter_params
    from needs
    join params on params.key = needs.param_key
    where params.is_starter
    group by needs.rule_code
),

decided as (
    select
        rules.*,
        coalesce(missing.missing_params, '') as missing_params,
        coalesce(starter.starter_params, '') as starter_params,
        -- strict: a rule whose parameter is only a starter default stays off (its parameter is unset)
        rules.is_enabled and not ({{ "true" if policy_profile() == "strict" else "false" }}
                                  and starter.starter_params is not null) as is_enabled_in_profile
    from rules
    left join missing on missing.rule_code = rules.rule_code
    left join starter on starter.rule_code = rules.rule_code
)

select
    rule_code,
    rule_family,
    is_enabled_in_profile as is_enabled,
    required_params,
    missing_params,
    is_enabled_in_profile and missing_params = '' as is_runnable,
    starter_params,
    '{{ policy_profile() }}'::text as policy_profile
from decided
