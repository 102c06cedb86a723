{#- The as-of date of the run. Every model is relative to it; nothing reads the wall clock.

    It comes from var('run_date') when given (`dbt build --vars '{run_date: 2026-11-26}'`, unit tests'
    overrides), else from the environment variable CRM_RUN_DATE, which is how the platform passes it
    (dbt_invoke, the DAGs' cosmos tasks). Why not always --vars: dbt throws its partial-parse state
    away whenever the vars change, so a date in --vars made every night and every date of a backfill,
    a bench or a benchmark loop parse the whole project (14.8 CPU s, against 1.3-1.6 for a partial
    parse). The date is read only at execution: while dbt parses (`execute` false) the value is
    run_date_placeholder(), so the parse state holds no date and is reused from date to date. Test
    `where:` configs are rendered while parsing; get_where_subquery (macros/test_where.sql) swaps the
    placeholder for the date at execution. Anywhere else, a parse-time render of the placeholder fails
    loudly (`date '__run_date__'` is not a date) instead of meaning some date. -#}
{% macro run_date() -%}
    date '{{ run_date_value() }}'
{%- endmacro %}

{% macro run_date_placeholder() -%}
    {{ return('__run_date__') }}
{%- endmacro %}

{#- `text` (a test's `where:`, rendered while parsing) with the placeholder replaced by run_date(); used by
    get_where_subquery and crm_column_tests. -#}
{% macro fill_run_date(text) -%}
    {%- if run_date_placeholder() in text -%}
        {{ return(text | replace(run_date_placeholder(), run_date())) }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

{#- The run date as 'YYYY-MM-DD' text (the placeholder while parsing). -#}
{% macro run_date_value() -%}
    {%- if not execute -%}
        {{ return(run_date_placeholder()) }}
    {%- endif -%}
    {%- set value = var('run_date', none) -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- set value = env_var('CRM_RUN_DATE', '') -%}
    {%- endif -%}
    {%- if (value | string | trim) == '' -%}
        {{ exceptions.raise_compiler_error("the run date is required: set CRM_RUN_DATE or var 'run_date' (YYYY-MM-DD)") }}
    {%- endif -%}
    {%- if not modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', value | string) -%}
        {{ exceptions.raise_compiler_error("the run date (CRM_RUN_DATE or var 'run_date') must be YYYY-MM-DD, got " ~ value) }}
    {%- endif -%}
    {{ return(value | string) }}
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
