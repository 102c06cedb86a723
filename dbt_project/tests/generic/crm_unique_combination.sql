{#- The combination of columns is unique (no dbt packages: dbt hub is unreachable here). -#}
{% test crm_unique_combination(model, combination) %}
select {{ combination | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1
{% endtest %}
