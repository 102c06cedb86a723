-- depends_on: {{ source('monitoring_lists', 'publication_log') }}
{#- Staging: rows published per list and run date, on or before var('run_date'). Empty until the first
    publication. -#}
{%- set relation = adapter.get_relation(database=target.database, schema='lists', identifier='publication_log') if execute else none %}
{%- if relation is none %}
select null::date as run_date, null::text as list_name, null::bigint as row_count
where false
{%- else %}
select run_date, list_name, row_count
from {{ source('monitoring_lists', 'publication_log') }}
where run_date <= {{ run_date() }}
{%- endif %}
