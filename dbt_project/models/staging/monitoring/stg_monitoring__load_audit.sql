-- depends_on: {{ source('monitoring_ops', 'load_audit') }}
{#- Staging: the ingest step's load audit for exports on or before var('run_date'). Empty with the same
    columns on a warehouse where nothing was ingested yet. -#}
{%- set relation = adapter.get_relation(database=target.database, schema='ops', identifier='load_audit') if execute else none %}
{%- if relation is none %}
select null::date as export_date, null::text as table_name, null::text as status,
       null::bigint as rows_read, null::bigint as rows_loaded, null::bigint as rows_quarantined
where false
{%- else %}
select export_date, table_name, status, rows_read, rows_loaded, rows_quarantined
from {{ source('monitoring_ops', 'load_audit') }}
where export_date <= {{ run_date() }}
{%- endif %}
