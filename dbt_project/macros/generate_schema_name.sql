{#- Custom schemas are used verbatim (staging, intermediate, marts, policy, lists_build), not prefixed
    with the target schema: the rest of the platform (GE checkpoints, list publishing, scoring) reads
    these fixed names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
