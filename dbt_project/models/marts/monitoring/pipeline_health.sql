{{ config(tags=['monitoring']) }}
{#- AL-20 pipeline health of the run date: one row per stage of the nightly (ops.stage_runs, the latest
    attempt) with its duration and rows, against the median duration of the same stage over the previous
    pipeline_baseline_days run dates, at least baseline_min_points of them (breach above stage_duration_ratio_max x that median, or a failed
    stage), and one row per published list (stage 'list:<name>', rows = published rows) against its
    trailing median size (breach outside +-list_size_tolerance). -#}
with params as (
    select
        {{ policy_param('pipeline_baseline_days') }}::integer as baseline_days,
        {{ policy_param('baseline_min_points') }}::integer as min_points,
        {{ policy_param('stage_duration_ratio_max') }}::double precision as duration_ratio_max,
        {{ policy_param('list_size_tolerance') }}::double precision as list_tolerance
),

stages as (
    select * from {{ ref('stg_monitoring__stage_runs') }}
),

stage_baseline as (
    {{ trailing_median('stages', 'stage', 'duration_s', 'run_date',
                       '(select baseline_days from params)', '(select min_points from params)',
                       where="status = 'success'") }}
),

stage_rows as (
    select
        s.stage,
        s.duration_s,
        s.rows::bigint as rows,
        b.median_value as baseline_duration_s,
        null::bigint as baseline_rows,
        s.status as stage_status,
        p.duration_ratio_max as threshold,
        case
            when s.status = 'failed' then 'breach'
            when b.median_value > 0 and s.duration_s > p.duration_ratio_max * b.median_value then 'breach'
            else 'ok'
        end as status
    from stages as s
    cross join params as p
    left join stage_baseline as b on b.stage = s.stage
    where s.run_date = {{ run_date() }}
),

lists as (
    select * from {{ ref('stg_monitoring__list_publications') }}
),

list_baseline as (
    {{ trailing_median('lists', 'list_name', 'row_count', 'run_date',
                       '(select baseline_days from params)', '(select min_points from params)') }}
),

list_rows as (
    select
        'list:' || l.list_name as stage,
        null::double precision as duration_s,
        l.row_count::bigint as rows,
        null::double precision as baseline_duration_s,
        round(b.median_value)::bigint as baseline_rows,
        'published' as stage_status,
        p.list_tolerance as threshold,
        case
            when {{ deviates_from_baseline('l.row_count', 'b.median_value', 'p.list_tolerance') }} then 'breach'
            else 'ok'
        end as status
    from lists as l
    cross join params as p
    left join list_baseline as b on b.list_name = l.list_name
    where l.run_date = {{ run_date() }}
)

select
    {{ run_date() }} as run_date,
    stage,
    duration_s,
    rows,
    baseline_duration_s,
    baseline_rows,
    stage_status,
    threshold,
    status,
    'AL-20' as alert_code,
    {{ policy_version() }} as policy_version
from (
    select * from stage_rows
    union all
    select * from list_rows
) as health
