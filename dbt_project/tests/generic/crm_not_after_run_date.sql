{#- Timestamps never lie after the end of the run date: later rows belong to later exports. -#}
{% test crm_not_after_run_date(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} >= {{ run_end() }}
{% endtest %}
