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
                of the same date re-ingested with other files, or a backfill of an earlier date; a rerun
                over the loads the table's mark recorded is a forward run over an empty delta, macro
                incremental_marked_loads). The pre-hook
                incremental_latest_reset() empties the table and the batch is every staged version
                exported on or before run_date: the fact never keeps a version exported after run_date.
                Cost ~ the history (one sort), like the old staging window, once per rewind.
    The next forward run catches up from the new watermark. Staging (`staged`) is a view of every
    version exported on or before run_date (rename / cast / mask only, with exported_on, source_file,
    source_line_no). -#}

{#- The watermark as 'YYYY-MM-DD' when this run is a forward run, else none (rebuild as of run_date). -#}
{% macro incremental_latest_forward_from() -%}
    {{ return(incremental_forward_mark(
        'select max(exported_on)::text from ' ~ this, rerun_version=incremental_latest_version())) }}
{%- endmacro %}

{#- post-hook: the run date the table is now as of, the model version and the loads it saw (macro
    incremental_marked_loads). -#}
{% macro incremental_latest_mark() -%}
    comment on table {{ this }} is 'as of {{ run_date_value() }} ({{ incremental_latest_version() }}){{ raw_loads_mark() }}'
{%- endmacro %}

{#- The version in an incremental_latest mark: the model file's checksum (a forward night merges by column
    name and checks the columns; a same-date no-op also needs the same SQL). -#}
{% macro incremental_latest_version() -%}
    macro incremental_latest, model {{ model.checksum.checksum[:16] }}
{%- endmacro %}

{#- The mark `mark_sql` reads from the built table ('YYYY-MM-DD' or null) when it is before run_date, i.e.
    this run moves forward from it; none on a first build, a full refresh or a rewind (rebuild as of
    run_date). Shared by the incremental facts (`incremental_latest`), the per-customer models
    (`incremental_customers`) and the carried windows (`customer_windows_forward_from`), which keep their
    marks differently. `stored`: whether a built table to move forward from exists; dbt's is_incremental()
    unless given (a table materialization that reads its stored self). -#}
{% macro incremental_forward_mark(mark_sql, stored=none, rerun_version=none) -%}
    {%- if stored is none -%}
        {%- set stored = execute and is_incremental() -%}
    {%- endif -%}
    {%- if not execute or not stored -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set mark = run_query(mark_sql).columns[0].values()[0] -%}
    {%- if mark is none or mark > run_date_value() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if rerun_version is not none -%}
        {%- set loads = incremental_marked_loads(rerun_version) -%}
        {%- if loads is not none and raw_loads_digest(loads[0]) != loads[1] -%}
            {{ return(none) }}
        {%- endif -%}
        {%- if mark == run_date_value() and (loads is none or loads[0] != run_date_value()) -%}
            {{ return(none) }}
        {%- endif -%}
    {%- elif mark == run_date_value() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(mark) }}
{%- endmacro %}

{#- The loads a table's mark recorded, as (its as-of date, the digest of ops.load_audit up to it), or none
    (a mark without loads, of another version `version`, or no mark). Given `rerun_version` (the text of the
    model's version its mark must hold, '' when mark_sql checked it already), incremental_forward_mark
    compares them with ops.load_audit now, for the families that write them (incremental_customers, the
    carried windows, incremental_latest):
    - a rerun of the mark's own date over the same loads (an Airflow retry of the marts, `crm run` of the
      date again with the same export files) moves forward from run_date to itself, over an empty delta: the
      table already is what a rebuild would give. Every rerun used to rebuild every such table as of
      run_date, since it might follow a re-ingest with other rows: at 1,000,000 customers a rerun cost about
      a full refresh of the marts (507 s against 190 s; int_lists__consent alone 78-105 s against 13 s).
    - loads up to the mark's date that changed since (an export date loaded again with other files, a
      quarantine that moved) rebuild, on a rerun as on a forward night: the forward night reads only the
      exports after the mark, so a re-ingested earlier date would otherwise never reach the table.
    A date not loaded by ingest (no load_audit row for it: raw written by other means, e.g. a test fixture)
    has no digest: its marks carry none, and its reruns rebuild as before. Raw is written by ingest alone
    (erasure and text retention change it in place, and change the built tables with it): rows edited by
    hand behind an audited load are seen by neither a rerun nor a forward night, and need a --full-refresh
    (or a re-ingest of their date). -#}
{% macro incremental_marked_loads(version='') -%}
    {%- set comment = run_query("select obj_description('" ~ this ~ "'::regclass, 'pg_class')").columns[0].values()[0] -%}
    {%- if comment is none or version not in comment -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = modules.re.search('^as of (\\d{4}-\\d{2}-\\d{2}) .* loads ([0-9a-f]+)$', comment) -%}
    {{ return(none if found is none else (found.group(1), found.group(2))) }}
{%- endmacro %}

{#- The digest of ops.load_audit up to `as_of` (run_date unless given; each export date's files: status,
    checksum, rows read, loaded and quarantined, extra columns), or none when that date itself has no load
    (raw written by other means, e.g. a test fixture: never taken as unchanged). -#}
{% macro raw_loads_digest(as_of=none) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set day = run_date() if as_of is none else "date '" ~ as_of ~ "'" -%}
    {%- set sql -%}
    select case when bool_or(export_date = {{ day }}) then left(md5(string_agg(
               concat_ws(',', export_date, table_name, status, sha256, rows_read, rows_loaded, rows_quarantined,
                         array_to_string(extra_columns, '|')),
               ';' order by export_date, table_name)), 16) end
    from {{ source('monitoring_ops', 'load_audit') }}
    where export_date <= {{ day }}
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{%- endmacro %}

{#- The digest for a table's mark (post-hooks): ' loads <digest>', or nothing when run_date has no load. -#}
{% macro raw_loads_mark() -%}
    {%- set digest = raw_loads_digest() -%}
    {%- if digest is not none %} loads {{ digest }}{% endif -%}
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
        'post_hook': ["{{ incremental_latest_mark() }}"],
        'indexes': [
            {'columns': [key_column], 'unique': true},
            {'columns': ['customer_id', time_column]},
            {'columns': ['exported_on']},
        ],
    }) }}
{%- endmacro %}
