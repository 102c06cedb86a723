{#- Policy access (seed_spec section 7). Parameters live in the `policy_parameters` seed, one row per
    (key, effective_from); the row in force on the run date wins. A run date before a key's first
    effective_from (a historic backfill) uses that first version: the baseline policy applies to
    every earlier date, so any date with a landing folder can run. Values are read set-based as scalar
    subqueries so a policy change never needs a code change. An empty value means "unset" ([U]): the
    subquery returns null, and rules needing it must be disabled (see `require_rule_params`). -#}

{#- ORDER BY that puts the version in force on the run date first (see above). -#}
{% macro policy_in_force_order(alias) -%}
    ({{ alias }}.effective_from <= {{ run_date() }}) desc,
    case when {{ alias }}.effective_from <= {{ run_date() }} then {{ alias }}.effective_from end desc nulls last,
    {{ alias }}.effective_from asc
{%- endmacro %}

{% macro policy_param(key, type='numeric') -%}
    (select nullif(trim(pp.value), '')::{{ type }}
       from {{ ref('policy_parameters') }} as pp
      where pp.key = '{{ key }}'
      order by {{ policy_in_force_order('pp') }}
      limit 1)
{%- endmacro %}

{#- The policy version in force on the run date, stamped on every mart and list row. -#}
{% macro policy_version() -%}
    (select pp.policy_version
       from {{ ref('policy_parameters') }} as pp
      order by {{ policy_in_force_order('pp') }}, pp.policy_version desc
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
