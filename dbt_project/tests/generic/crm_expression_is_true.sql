{#- Every row satisfies a SQL predicate (e.g. "amount >= 0"). With column_name, the predicate is
    appended to the column: `column_name: amount, expression: ">= 0"`. -#}
{% test crm_expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({% if column_name %}{{ column_name }} {% endif %}{{ expression }}), false)
{% endtest %}
