{{ config(tags=['reporting']) }}
{#- Policy parameter status per run date (seed_spec 0.3 / 7, DQ-17): one row per policy_parameters key in force
    on var('run_date'): its value, tag, whether it is a labelled starter default (tag starter) and the value the
    build used under the policy profile (null = unset: strict drops starter defaults), the business rules that
    cite it (used_by) and the rules of int_policy__rule_readiness that need it (required_params).
    `crm policy status` prints the starter rows of this mart next to marts.rule_activity. No list reads it: built
    with rule_activity after publishing, in the nightly dbt_reporting step. -#}
with params as (
    select p.*, {{ policy_value('p') }} as value_used
    from {{ policy_rows('policy_parameters', ['key']) }} as p
),

needs as (
    select trim(k) as key, string_agg(r.rule_code, ', ' order by r.rule_code) as required_by_rules
    from {{ ref('int_policy__rule_readiness') }} as r
    cross join lateral unnest(string_to_array(nullif(r.required_params, ''), '|')) as k
    group by trim(k)
)

select
    {{ run_date() }} as run_date,
    p.key::text as key,
    nullif(trim(p.value), '')::text as value,
    p.unit::text as unit,
    p.tag::text as tag,
    (p.tag = 'starter')::boolean as is_starter,
    p.value_used::text as value_used,
    p.used_by::text as used_by,
    coalesce(n.required_by_rules, '')::text as required_by_rules,
    p.approved_by::text as approved_by,
    p.notes::text as notes,
    p.policy_version::text as param_policy_version,
    p.effective_from::date as effective_from,
    '{{ policy_profile() }}'::text as policy_profile,
    {{ policy_version() }}::text as policy_version
from params as p
left join needs as n on n.key = p.key
