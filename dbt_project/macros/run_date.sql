{#- The as-of date of the run. Every model is relative to it; nothing reads the wall clock. -#}
{% macro run_date() -%}
    {%- set value = var('run_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ exceptions.raise_compiler_error("var 'run_date' (YYYY-MM-DD) is required") }}
    {%- endif -%}
    {%- if not modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("var 'run_date' must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    date '{{ value }}'
{%- endmacro %}

{#- Exclusive end of a date in UTC: events count "as of" a date when ts < day_end(date). -#}
{% macro day_end(date_expr) -%}
    (({{ date_expr }} + 1)::timestamp at time zone 'UTC')
{%- endmacro %}

{% macro run_end() -%}
    {{ day_end(run_date()) }}
{%- endmacro %}

{#- Calendar date of a timestamptz in UTC, independent of the session time zone. -#}
{% macro utc_date(ts_expr) -%}
    (({{ ts_expr }}) at time zone 'UTC')::date
{%- endmacro %}

{#- Whole minutes between two timestamptz values (null when either is null). -#}
{% macro minutes_between(start_ts, end_ts) -%}
    (extract(epoch from ({{ end_ts }}) - ({{ start_ts }})) / 60.0)
{%- endmacro %}
