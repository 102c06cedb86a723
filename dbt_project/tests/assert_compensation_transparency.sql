{#- DQ-11 / CP-11 / CP-13 transparency: every compensation row carries its content, usage conditions, due
    date and expected arrival. Every compensation_matrix row requires compensation_due_days ([U]), so no
    rule can list a row before the business has set it. -#}
{{ config(tags=['lists']) }}
select c.run_date, c.customer_id, c.ledger_key
from {{ ref('compensation_list') }} as c
where c.content is null
   or c.usage_conditions_code is null
   or c.due_by is null
   or c.expected_arrival_date is null
