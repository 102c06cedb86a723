{{ config(tags=["lists"]) }}
{#- The compensation_matrix rows in force on var('run_date') that the lists may use: enabled under the policy
    profile (strict: no row tagged starter) and of a rule int_policy__rule_readiness enables. A package
    applies to the customer's value tier or to 'any' tier (the tier row wins), so amounts scale with the
    tier. Read by every compensation rule family and by compensation_candidates. -#}
select m.*
from {{ policy_rows('compensation_matrix', ['trigger', 'tier', 'severity', 'complaint_type']) }} as m
where {{ policy_row_enabled('m') }}
  and m.rule_code in (select r.rule_code from {{ ref('int_policy__rule_readiness') }} as r where r.is_enabled)
