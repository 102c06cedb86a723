{#- Policy access (seed_spec section 7). Parameters live in the `policy_parameters` seed, one row per
    (key, effective_from); the row in force on the run date wins. A run date before a key's first
    effective_from (a historic backfill) uses that first version: the baseline policy applies to
    every earlier date, so any date with a landing folder can run. Values are read set-based as scalar
    subqueries so a policy change never needs a code change. An empty value means "unset" ([U]): the
    subquery returns null, and rules needing it must be disabled (see `require_rule_params`).
    Policy profile (seed_spec 0.3): a parameter or compensation_matrix row tagged `starter` carries a labelled
    starter default. Under the `starter` profile (the default) it is used as is; under `strict` it counts as
    unset (parameters) or disabled (matrix rows), and int_policy__rule_readiness switches off every rule that
    needs one, exactly as if the value had never been filled. -#}

{#- The policy profile of this build: var('policy_profile'), else env CRM_POLICY_PROFILE, else 'starter'. -#}
{% macro policy_profile() -%}
    {%- set value = (var('policy_profile', none) or env_var('CRM_POLICY_PROFILE', 'starter')) | string | trim | lower -%}
    {%- if value not in ('starter', 'strict') -%}
        {{ exceptions.raise_compiler_error("policy profile must be 'starter' or 'strict', got '" ~ value ~ "' (var policy_profile / env CRM_POLICY_PROFILE)") }}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{#- The value of a policy_parameters row under the profile (text; null = unset). -#}
{% macro policy_value(alias) -%}
    {%- if policy_profile() == 'strict' -%}
        (case when {{ alias }}.tag = 'starter' then null else nullif(trim({{ alias }}.value), '') end)
    {%- else -%}
        nullif(trim({{ alias }}.value), '')
    {%- endif -%}
{%- endmacro %}

{#- True when a rule row of a seed with `enabled` and `tag` columns (compensation_matrix) is switched on under
    the profile: strict disables the rows whose amounts are starter defaults. -#}
{% macro policy_row_enabled(alias) -%}
    {%- if policy_profile() == 'strict' -%}
        ({{ alias }}.enabled and {{ alias }}.tag is distinct from 'starter')
    {%- else -%}
        {{ alias }}.enabled
    {%- endif -%}
{%- endmacro %}



{#- A policy_version as a value that orders like a version, not like text: 2026.9 < 2026.10 (its runs of
    digits, compared as numbers; 'v1' is {1}). Seed versions are dot-separated whole numbers (DQ-17,
    assert_policy_versions_ordered). The Python side
    (enrich/policy.py: version_key, in_force_rank) orders the same way; tests/test_policy_in_force.py runs
    both on the same rows. -#}
{% macro policy_version_key(expr) -%}
    array_remove(regexp_split_to_array({{ expr }}, '[^0-9]+'), '')::numeric[]
{%- endmacro %}

{#- ORDER BY that puts the version in force on the run date first (see above); of two rows effective
    the same day, the higher version (as a version). -#}
{% macro policy_in_force_order(alias) -%}
    ({{ alias }}.effective_from <= {{ run_date() }}) desc,
    case when {{ alias }}.effective_from <= {{ run_date() }} then {{ alias }}.effective_from end desc nulls last,
    {{ alias }}.effective_from asc,
    {{ policy_version_key(alias ~ '.policy_version') }} desc
{%- endmacro %}

{#- The value of policy parameter `key` in force on the run date, as `type`. A model reads its parameters
    once, in a one-row `params` CTE of policy_param calls. A window filter reads its parameter as a scalar
    subquery over that CTE (`(select lookback_days from params)`), so it is a scan filter: a cross-joined
    params column would run as a nested-loop join filter under the build's enable_nestloop = off
    (docs/scaling.md, "Parameter filters as scan filters"). -#}
{% macro policy_param(key, type='numeric') -%}
    (select {{ policy_value('pp') }}::{{ type }}
       from {{ ref('policy_parameters') }} as pp
      where pp.key = '{{ key }}'
      order by {{ policy_in_force_order('pp') }}
      limit 1)
{%- endmacro %}

{#- The policy version in force on the run date, stamped on every mart and list row. -#}
{% macro policy_version() -%}
    (select pp.policy_version
       from {{ ref('policy_parameters') }} as pp
      order by {{ policy_in_force_order('pp') }}
      limit 1)
{%- endmacro %}

{#- Rows of a policy seed in force on the run date: per business key, the latest effective_from. -#}
{% macro policy_rows(seed_name, key_columns) -%}
    (select *
       from (select s.*,
                    row_number() over (partition by {{ key_columns | join(', ') }}
                                       order by {{ policy_in_force_order('s') }}) as _policy_rank
               from {{ ref(seed_name) }} as s) as ranked
      where _policy_rank = 1)
{%- endmacro %}

{#- A boolean SQL predicate that is true when every listed rule is correctly configured and that FAILS
    THE QUERY (a runtime cast error naming the rule and the parameters) when a rule is enabled while a
    parameter it needs is unset. Used in the WHERE clause of the lists, so a misconfigured policy can
    never silently produce an empty or wrong list. The check reads `int_policy__rule_readiness`. -#}
{% macro require_rule_params(rule_codes) -%}
    ((select coalesce(sum(
            ('policy error: rule ' || r.rule_code || ' is enabled but parameter(s) unset: '
             || r.missing_params)::integer), 0)
        from {{ ref('int_policy__rule_readiness') }} as r
       where r.is_enabled
         and r.missing_params <> ''
         and r.rule_code in ({% for code in rule_codes %}'{{ code }}'{% if not loop.last %}, {% endif %}{% endfor %})
     ) = 0)
{%- endmacro %}
