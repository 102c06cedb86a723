{#- DQ-11 / CP-11 transparency: every compensation row carries its content and usage conditions, and its
    expected arrival once compensation_due_days (CP-13, [U]) is set - while it is unset no arrival date
    can be computed, so only the other two fields are required. -#}
{{ config(tags=['lists']) }}
select c.run_date, c.customer_id, c.ledger_key
from {{ ref('compensation_list') }} as c
where c.content is null
   or c.usage_conditions_code is null
   or (c.expected_arrival_date is null and {{ policy_param('compensation_due_days', 'integer') }} is not null)
