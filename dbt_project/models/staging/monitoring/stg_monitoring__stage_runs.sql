-- depends_on: {{ source('monitoring_ops', 'stage_runs') }}
{#- Staging: stage timings of nightly runs on or before var('run_date'), the latest attempt per
    (run_date, stage): a retry or a rerun of the date replaces the earlier attempt. duration_s is null
    while a stage runs. Empty until the first logged stage created the table. -#}
{%- set relation = adapter.get_relation(database=target.database, schema='ops', identifier='stage_runs') if execute else none %}
{%- if relation is none %}
select null::date as run_date, null::text as stage, null::text as run_id, null::integer as attempt,
       null::timestamptz as started_at, null::timestamptz as ended_at, null::double precision as duration_s,
       null::bigint as rows, null::text as status
where false
{%- else %}
select run_date, stage, run_id, attempt, started_at, ended_at,
       extract(epoch from ended_at - started_at)::double precision as duration_s,
       rows, status
from (
    select s.*,
           row_number() over (partition by s.run_date, s.stage order by s.started_at desc, s.attempt desc) as latest
    from {{ source('monitoring_ops', 'stage_runs') }} as s
    where s.run_date <= {{ run_date() }}
) as ranked
where latest = 1
{%- endif %}
