{#- dbt's get_where_subquery (the `where:` config of a data test), with the run date filled in at execution.

    Why: dbt renders a test's `where:` while it parses, without the project's macros, so a date there
    would either be fixed at parse time or force a full parse per date (see run_date in run_date.sql).
    A `where:` names the run date by the placeholder `__run_date__` (run_date_placeholder()); this
    replaces it with run_date() when the test runs, as dbt's docs suggest for custom logic in `where`
    (docs.getdbt.com/reference/resource-configs/where, "Custom logic"). Otherwise it is dbt's default. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = fill_run_date(where) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
