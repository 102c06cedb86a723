{#- Staging: DQ-06 alerts raised by the Python text-enrichment task when the sentiment model fails its
    quality gate, for the run date. Empty but typed when the task has never run, so the project builds. -#}
{%- set src = adapter.get_relation(database=target.database, schema='enrichment', identifier='quality_alerts') -%}
{%- if src is not none %}
select
    run_date,
    alert_code,
    level,
    scope,
    metric_value,
    threshold,
    message,
    policy_version
from {{ source('enrichment', 'quality_alerts') }}
where run_date = {{ run_date() }}
{%- else %}
select
    null::date as run_date,
    null::text as alert_code,
    null::text as level,
    null::text as scope,
    null::double precision as metric_value,
    null::double precision as threshold,
    null::text as message,
    null::text as policy_version
where false
{%- endif %}
