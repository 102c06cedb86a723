{#- DQ-17: every parameter a rule lists (required_params, alert threshold_param) is a key of
    policy_parameters, so a typo cannot pass as "unset" and silently keep a rule disabled. -#}
with needs as (
    select r.rule_code, trim(k) as param_key
    from {{ ref('int_policy__rule_readiness') }} as r
    cross join lateral unnest(string_to_array(nullif(r.required_params, ''), '|')) as k
)
select needs.rule_code, needs.param_key
from needs
where not exists (select 1 from {{ ref('policy_parameters') }} as p where p.key = needs.param_key)
