{#- The columns both churn marts select from int_churn__features (`alias`): the key, run_date,
    policy_version, then every feature of churn_feature_columns(), with no trailing comma. The nightly
    scoring rows (churn_features) and the training snapshots (churn_training_set) are the model code's one
    interface, so the list is written once: a column cannot be added to one and not the other. -#}
{% macro churn_interface_columns(alias) -%}
    {{ alias }}.customer_id,
    {{ alias }}.as_of_date,
    {{ run_date() }} as run_date,
    {{ policy_version() }} as policy_version,
    {%- for col in churn_feature_columns() %}
    {{ alias }}.{{ col }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}
