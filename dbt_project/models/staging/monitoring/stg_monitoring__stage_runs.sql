{#- Staging: stage timings of nightly runs on or before var('run_date'), the latest attempt per
    (run_date, stage): a retry or a rerun of the date replaces the earlier attempt. duration_s is null
    while a stage runs. Empty until the first
    logged stage (the on-run-start hook create_source_tables() creates the table). -#}
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
