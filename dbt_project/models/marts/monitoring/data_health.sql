{{ config(tags=['monitoring']) }}
{#- Data health of the run date, one row per (check_name, table_name): DQ-12 volume (rows read vs the
    median of the same file's exports in the previous volume_baseline_days days, at least
    baseline_min_points of them, else no baseline and status ok; breach outside
    +-volume_tolerance) and freshness (days from the newest loaded export of a source to the run date,
    breach above freshness_max_lag_days; volume and freshness leave out the contract's event-driven files,
    e.g. dsr_requests, which arrive only when there is something to send), quarantine share per file (breach above quarantine_share_max,
    AL-20), DQ-07 crisis-sensitive share (outside the band) and DQ-08 top-20 % revenue share (further
    than pareto_share_tolerance from value_top_expected_revenue_share). DQ-07 / DQ-08 are warnings by
    the rules: their alert level is low. A check whose parameter is unset (strict profile) reports its
    value with status ok and a null threshold. -#}
with params as (
    select
        {{ policy_param('volume_baseline_days') }}::integer as volume_days,
        {{ policy_param('baseline_min_points') }}::integer as min_points,
        {{ policy_param('volume_tolerance') }}::double precision as volume_tolerance,
        {{ policy_param('freshness_max_lag_days') }}::integer as max_lag_days,
        {{ policy_param('quarantine_share_max') }}::double precision as quarantine_max,
        {{ policy_param('crisis_sensitive_share_band_min') }}::double precision as sensitive_min,
        {{ policy_param('crisis_sensitive_share_band_max') }}::double precision as sensitive_max,
        {{ policy_param('crisis_sensitive_expected_share') }}::double precision as sensitive_expected,
        {{ policy_param('value_top_expected_revenue_share') }}::double precision as pareto_expected,
        {{ policy_param('pareto_share_tolerance') }}::double precision as pareto_tolerance
),

audit as (
    select * from {{ ref('stg_monitoring__load_audit') }}
),

tonight as (
    select * from audit where export_date = {{ run_date() }}
),

baseline as (
    {{ trailing_median('audit', 'table_name', 'rows_read', 'export_date',
                       '(select volume_days from params)', '(select min_points from params)',
                       where="status = 'loaded'") }}
),

volume as (
    select
        'volume' as check_name,
        t.table_name,
        'rows_read' as metric,
        t.rows_read::double precision as value,
        b.median_value as baseline,
        p.volume_tolerance as threshold,
        'deviates by more than' as comparator,
        case
            when {{ deviates_from_baseline('t.rows_read', 'b.median_value', 'p.volume_tolerance') }} then 'breach'
            when b.median_value = 0 and t.rows_read > 0 and p.volume_tolerance is not null then 'breach'
            else 'ok'
        end as status,
        'DQ-12' as alert_code
    from tonight as t
    cross join params as p
    left join baseline as b on b.table_name = t.table_name
    where t.table_name not in {{ event_driven_files() }}
),

freshness as (
    select
        'freshness' as check_name,
        a.table_name,
        'days_since_export' as metric,
        ({{ run_date() }} - max(a.export_date) filter (where a.status = 'loaded'))::double precision as value,
        null::double precision as baseline,
        max(p.max_lag_days)::double precision as threshold,
        '>' as comparator,
        case
            when max(a.export_date) filter (where a.status = 'loaded') is null then 'breach'
            when {{ run_date() }} - max(a.export_date) filter (where a.status = 'loaded') > max(p.max_lag_days) then 'breach'
            else 'ok'
        end as status,
        'DQ-12' as alert_code
    from audit as a
    cross join params as p
    where a.table_name not in {{ event_driven_files() }}
    group by a.table_name
),

quarantine as (
    select
        'quarantine_share' as check_name,
        t.table_name,
        'rows_quarantined / rows_read' as metric,
        t.rows_quarantined::double precision / nullif(t.rows_read, 0) as value,
        null::double precision as baseline,
        p.quarantine_max as threshold,
        '>' as comparator,
        case when t.rows_quarantined::double precision / nullif(t.rows_read, 0) > p.quarantine_max then 'breach' else 'ok' end
            as status,
        'AL-20' as alert_code
    from tonight as t
    cross join params as p
),

value_checks as (
    select
        avg(v.is_crisis_sensitive::integer)::double precision as sensitive_share,
        sum(v.revenue_365d) filter (where v.is_top20)::double precision / nullif(sum(v.revenue_365d), 0) as top20_share
    from {{ ref('customer_value') }} as v
    where v.run_date = {{ run_date() }}
),

dq07 as (
    select
        'crisis_sensitive_share' as check_name,
        'marts.customer_value' as table_name,
        'crisis_sensitive_share' as metric,
        c.sensitive_share as value,
        p.sensitive_expected as baseline,
        case when c.sensitive_share < p.sensitive_min then p.sensitive_min else p.sensitive_max end as threshold,
        case when c.sensitive_share < p.sensitive_min then '<' else '>' end as comparator,
        case when c.sensitive_share < p.sensitive_min or c.sensitive_share > p.sensitive_max then 'breach' else 'ok' end
            as status,
        'DQ-07' as alert_code
    from value_checks as c
    cross join params as p
    where c.sensitive_share is not null
),

dq08 as (
    select
        'pareto_top20_revenue_share' as check_name,
        'marts.customer_value' as table_name,
        'top20_revenue_share' as metric,
        c.top20_share as value,
        p.pareto_expected as baseline,
        p.pareto_tolerance as threshold,
        'deviates by more than' as comparator,
        case when abs(c.top20_share - p.pareto_expected) > p.pareto_tolerance then 'breach' else 'ok' end as status,
        'DQ-08' as alert_code
    from value_checks as c
    cross join params as p
    where c.top20_share is not null
),

checks as (
    select * from volume
    union all select * from freshness
    union all select * from quarantine
    union all select * from dq07
    union all select * from dq08
)

select
    {{ run_date() }} as run_date,
    check_name,
    table_name,
    metric,
    value,
    baseline,
    threshold,
    comparator,
    status,
    alert_code,
    {{ policy_version() }} as policy_version
from checks
