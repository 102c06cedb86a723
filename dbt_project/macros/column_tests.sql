{#- The generic tests crm_column_tests checks for a model (one source: selectors.yml's
    batched_column_tests excludes exactly these test names of severity error from the nightly steps). -#}
{% macro crm_batched_column_test_names() -%}
    {{ return(['not_null', 'accepted_values', 'crm_accepted_range']) }}
{%- endmacro %}
