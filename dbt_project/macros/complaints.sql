{#- Helpers of the complaint and alert marts (seed_spec 3.4 CM, 3.9 AL). -#}

{#- True when a rule (CM-xx / AL-xx / RL-xx / CP-xx) is enabled with every parameter it needs set
    (int_policy__rule_readiness.is_runnable); false when disabled or unknown. A scalar subquery, so a
    policy change never needs a code change. -#}
{% macro rule_enabled(rule_code) -%}
    coalesce((select r.is_runnable
                from {{ ref('int_policy__rule_readiness') }} as r
               where r.rule_code = '{{ rule_code }}'), false)
{%- endmacro %}

{#- CM-06 technical complaint (seed_spec 3.4): a complaint whose L1 category is function, performance or
    security, or whose complaint type is technical. One rule for the ticket facts (is_technical_complaint)
    and the churn features (CF-06 technical-complaint counts per cutoff). `ticket` is the alias of a relation
    with ticket_type, category_l1 and complaint_type. -#}
{% macro is_technical_complaint(ticket='t') -%}
    ({{ ticket }}.ticket_type = 'complaint'
        and ({{ ticket }}.category_l1 in ('function', 'performance', 'security') or {{ ticket }}.complaint_type = 'technical'))
{%- endmacro %}

{#- CM-06 crisis sensitivity window: true when a complaint created at `created_ts` counts toward the
    crisis-sensitive tag, i.e. it was created within `window_days` (crisis_sensitive_window_days) before
    `window_end` (the end of the run date, or a churn cutoff's as-of end); an unset window counts every
    complaint (lifetime). One rule for the complaint mart (customer_complaints.is_crisis_sensitive), the
    value profile (CV-08, which cannot read that mart: the complaint marts read value tiers from
    customer_value) and the churn features (CF-06, per cutoff). -#}
{% macro in_crisis_sensitive_window(created_ts, window_days, window_end=none) -%}
    ({{ window_days }} is null
     or {{ created_ts }} >= {{ window_end or run_end() }} - make_interval(days => {{ window_days }}))
{%- endmacro %}

{#- CM-05 (seed_spec 7.5): min(cap, summed tag weights) x manual correction coefficient. -#}
{% macro capped_priority_weight(sum_expr) -%}
    (least({{ policy_param('priority_weight_cap') }}, {{ sum_expr }})
        * {{ policy_param('priority_weight_manual_coefficient') }})
{%- endmacro %}

{#- CM-03 breach flag of one SLA clock: true when the clock stopped after the target, or is still
    running past it on the run date (overdue); false when it stopped in time; null when the clock is
    still running inside its target (pending) or no target applies. -#}
{% macro sla_breach(created_ts, stopped_ts, target_minutes) -%}
    case
        when {{ target_minutes }} is null then null
        when {{ stopped_ts }} is not null
            then {{ minutes_between(created_ts, stopped_ts) }} > {{ target_minutes }}
        when {{ minutes_between(created_ts, run_end()) }} > {{ target_minutes }} then true
    end
{%- endmacro %}

{#- Evaluate `value comparator threshold` for a comparator held as data (alert_rules.comparator). -#}
{% macro compare_to_threshold(value_expr, comparator_expr, threshold_expr) -%}
    case {{ comparator_expr }}
        when 'always' then true
        when '<' then {{ value_expr }} < {{ threshold_expr }}
        when '<=' then {{ value_expr }} <= {{ threshold_expr }}
        when '>' then {{ value_expr }} > {{ threshold_expr }}
        when '>=' then {{ value_expr }} >= {{ threshold_expr }}
    end
{%- endmacro %}
