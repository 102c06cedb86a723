-- depends_on: {{ source('monitoring_scoring', 'drift_metrics') }}
{#- Staging: drift metrics (AL-14) of nights on or before var('run_date'). Empty until the drift step
    first ran. -#}
{%- set relation = adapter.get_relation(database=target.database, schema='scoring', identifier='drift_metrics') if execute else none %}
{%- if relation is none %}
select null::date as run_date, null::text as model_name, null::text as model_version, null::text as scope,
       null::text as feature, null::bigint as rows_current, null::bigint as rows_reference,
       null::double precision as missing_share_current, null::double precision as psi,
       null::text as distance_name, null::double precision as distance
where false
{%- else %}
select run_date, model_name, model_version, scope, feature, rows_current, rows_reference,
       missing_share_current, psi, distance_name, distance
from {{ source('monitoring_scoring', 'drift_metrics') }}
where run_date <= {{ run_date() }}
{%- endif %}
