{{ config(
    materialized='table',
    indexes=[{'columns': ['customer_id'], 'unique': true}],
    pre_hook="{% set from_date = customer_windows_forward_from() %}{% if from_date is not none %}{{ incremental_customers_affected_table(['orders', 'interactions', 'tickets', 'surveys'], from_date, 'day') }} {{ planner_settings() }}; set local enable_nestloop = on{% else %}select 1{% endif %}",
    post_hook=["{{ customer_windows_mark() }}"],
) }}
{#- The trailing windows of the churn features' activity families (macro activity_windows: orders, revenue,
    logins, app events, visit days over 7 to 365 days) per customer as of run_date: the run-date row of
    int_churn__activity's windowed family. Recomputing them reads every customer-day of the last 120 days and
    every paid one of the last 365 (4.0M of 11.4M rows at 300,000 customers, the largest scan of the nightly
    marts), although a night moves each window by one day only.
    So a forward night (the stored table is as of an earlier date, by this version: macro
    customer_windows_forward_from) carries the stored windows forward: for each window, add the days that
    entered it since the stored date and subtract those that left it (macro activity_window_deltas), reading
    only the days at the windows' bounds (macro activity_window_boundaries: one day per bound and night). That
    is exact for every customer whose stored days did not change since the stored date: a new day after it
    simply enters the windows (the bound at 0 days). The customers of a day up to the stored date that a
    raw row exported since then adds, replaces or moves (the affected customer-days of macro
    incremental_customers, from the same sources as int_activity__customer_days: a re-exported order, a late
    event) are recomputed from their days instead. Nested loops are allowed, so for a few such customers the
    planner may probe the days' customer index (the affected set is analysed); at 300,000 customers 48,083
    customers had a row exported on the night but 3,980 a changed past day, and the planner hashed the 4.0M
    days in scope (docs/scaling.md, "Session 31"). A first build, a --full-refresh, a rerun or a backfill
    (stored date >= run_date), or a table of another version recomputes everyone.
    tests/test_incremental_marts.py compares forward nights with a full refresh (EXCEPT ALL). -#}
{%- set from_date = customer_windows_forward_from() %}
{%- set days = ref('int_activity__customer_days') %}
{%- if from_date is none %}
select d.customer_id, {{ activity_window_sums('d', run_date()) }}
from {{ days }} as d
where {{ activity_window_scope('d', run_date()) }}
group by d.customer_id
{%- else %}
{%- set stored = "date '" ~ from_date ~ "'" %}
with changed as (
    select distinct customer_id
    from {{ incremental_customers_affected() }}
    where activity_date <= {{ stored }}
),

recomputed as (
    select d.customer_id, {{ activity_window_sums('d', run_date()) }}
    from changed as c
    join {{ days }} as d on d.customer_id = c.customer_id
    where {{ activity_window_scope('d', run_date()) }}
    group by d.customer_id
),

deltas as (
    select d.customer_id, {{ activity_window_deltas('d', stored, run_date()) }}
    from {{ days }} as d
    where {{ activity_window_boundaries('d', stored, run_date()) }}
      and not exists (select 1 from changed as c where c.customer_id = d.customer_id)
    group by d.customer_id
),

carried as (
    select
        coalesce(s.customer_id, x.customer_id) as customer_id,
        {%- for w in activity_windows() %}
        (coalesce(s.{{ w.name }}, 0) + coalesce(x.{{ w.name }}, 0)){{ w.cast or '' }} as {{ w.name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (
        select * from {{ this }} as t
        where not exists (select 1 from changed as c where c.customer_id = t.customer_id)
    ) as s
    full join deltas as x on x.customer_id = s.customer_id
)

select * from recomputed
union all
select * from carried
where scope_days_recent + scope_days_paid_older > 0
{%- endif %}
