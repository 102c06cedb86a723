{#- Incremental "current state" of a large delta-exported entity (orders, tickets, interactions).

    Landing contract: an export folder is a delta; a row re-exported with a later updated_at replaces the
    earlier version. The model holds one row per key, the latest version exported on or before run_date,
    ranked exactly like latest_version(): version column (updated_at, defaulted to the export date in
    staging) desc, then export date, then line (then file, for determinism).

    The high-water mark is max(exported_on) in {{ this }}:
      forward   run_date > watermark: the batch is the staged versions exported in (watermark, run_date]
                plus the stored rows of the same keys; latest per key; delete+insert those keys.
                Cost ~ the delta, not the history. Rows of other keys are not touched.
      rebuild   first build, --full-refresh, an empty table, or a rewind (watermark >= run_date: a rerun
                of the same date, possibly re-ingested, or a backfill of an earlier date). The pre-hook
                incremental_latest_reset() empties the table and the batch is every staged version
                exported on or before run_date: the fact never keeps a version exported after run_date.
                Cost ~ the history (one sort), like the old staging window, once per rewind.
    The next forward run catches up from the new watermark. Staging (`staged`) is a view of every
    version exported on or before run_date (rename / cast / mask only, with exported_on, source_file,
    source_line_no). -#}

{#- The watermark as 'YYYY-MM-DD' when this run is a forward run, else none (rebuild as of run_date). -#}
{% macro incremental_latest_forward_from() -%}
    {{ return(incremental_forward_mark('select max(exported_on)::text from ' ~ this)) }}
{%- endmacro %}

{#- The mark `mark_sql` reads from the built table ('YYYY-MM-DD' or null) when it is before run_date, i.e.
    this run moves forward from it; none on a first build, a full refresh or a rewind (rebuild as of
    run_date). Shared by the incremental facts (`incremental_latest`), the per-customer models
    (`incremental_customers`) and the carried windows (`customer_windows_forward_from`), which keep their
    marks differently. `stored`: whether a built table to move forward from exists; dbt's is_incremental()
    unless given (a table materialization that reads its stored self). -#}
{% macro incremental_forward_mark(mark_sql, stored=none) -%}
    {%- if stored is none -%}
        {%- set stored = execute and is_incremental() -%}
    {%- endif -%}
    {%- if not execute or not stored -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set mark = run_query(mark_sql).columns[0].values()[0] -%}
    {%- if mark is none or mark >= run_date_value() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(mark) }}
{%- endmacro %}

{#- pre-hook: empty the table before a rewind rebuild (is_incremental, but not a forward run). -#}
{% macro incremental_latest_reset() -%}
    {%- if execute and is_incremental() and incremental_latest_forward_from() is none -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro incremental_latest(staged, key_column, version_column=none) -%}
    {#- A rebuild selects `*` from staging: its SQL does not depend on what the warehouse holds. Only a
        forward run (dbt's own incremental state: {{ this }} exists and is behind run_date) merges stored
        rows, which needs the column list by name. -#}
    {%- set column_list = '*' -%}
    {%- set forward_from = incremental_latest_forward_from() -%}
    {%- if forward_from is not none -%}
        {%- set columns = adapter.get_columns_in_relation(staged) | map(attribute='name') | list -%}
        {%- set column_list = columns | join(', ') -%}
        {#- stored rows are merged by column name: a staging column change needs a rebuild (on_schema_change
            'fail' would only say so after the batch failed on the missing column) -#}
        {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if (stored | sort) != (columns | sort) -%}
            {{ exceptions.raise_compiler_error(
                this ~ ": the columns of " ~ staged ~ " changed (" ~ (columns | reject('in', stored) | list)
                ~ " new, " ~ (stored | reject('in', columns) | list) ~ " gone); rebuild it with --full-refresh") }}
        {%- endif -%}
    {%- endif %}
with
{% if forward_from is not none -%}
delta as (
    select {{ column_list }}
    from {{ staged }}
    where exported_on > date '{{ forward_from }}'
      and exported_on <= {{ run_date() }}
),

candidates as (
    select {{ column_list }} from delta

    union all

    select {{ column_list }}
    from {{ this }}
    where {{ key_column }} in (select {{ key_column }} from delta)
)
{%- else -%}
candidates as (
    select {{ column_list }}
    from {{ staged }}
    where exported_on <= {{ run_date() }}
)
{%- endif %}

select distinct on ({{ key_column }}) *
from candidates
order by
    {{ key_column }},
    {% if version_column is not none -%}
    {{ version_column }} desc nulls last,
    {% endif -%}
    exported_on desc,
    source_line_no desc,
    source_file desc
{%- endmacro %}

{#- The config of an incremental_latest model, keyed by `key_column`: delete+insert by key, the rewind
    pre-hook, and the indexes the forward merge and the consumers use (the key, unique; customer and
    `time_column`; exported_on, the watermark). Use: {{ config(**incremental_latest_config('order_id',
    'order_ts')) }} -#}
{% macro incremental_latest_config(key_column, time_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': key_column,
        'on_schema_change': 'fail',
        'pre_hook': "{{ incremental_latest_reset() }}",
        'indexes': [
            {'columns': [key_column], 'unique': true},
            {'columns': ['customer_id', time_column]},
            {'columns': ['exported_on']},
        ],
    }) }}
{%- endmacro %}
