{#- PS-08: an erased customer's facts are kept under a random `ANON-<hex>` id (crm_scoring.privacy.erasure,
    ANON_PREFIX; tests/test_privacy.py keeps the two equal). Such a customer is never listed again. -#}
{% macro anon_prefix() -%}ANON-{%- endmacro %}

{% macro not_erased(column) -%}
    {{ column }} not like '{{ anon_prefix() }}%'
{%- endmacro %}
