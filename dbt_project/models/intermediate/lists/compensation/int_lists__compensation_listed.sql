{{ config(tags=["lists"]) }}
{#- The compensation list's rows for var('run_date') before compensation_list words them: the candidates the
    ledger let through (decision listed or over_cap), erased customers left out (PS-08). compensation_list
    selects them; retention_candidates reads who is on the list from here (RL-19: one contact a day), so the
    retention candidates do not wait for the list model that carries the reason codes (CH-06: the candidates
    are explained between the two, tasks.build_lists). -#}
select *
from {{ ref('compensation_candidates') }}
where run_date = {{ run_date() }} and decision in ('listed', 'over_cap')
  and {{ not_erased('customer_id') }}  -- PS-08: an erased customer is never listed
