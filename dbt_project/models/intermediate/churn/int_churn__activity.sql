{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Activity families of the churn features (CF-01..CF-05, CF-02 median purchase cycle), one row per
    (customer_id, as_of_date) of int_churn__population, point in time: only days up to as_of_date.
    Scales with several cutoffs: daily pre-aggregates (int_activity__customer_days) are joined to the
    cutoffs on date ranges (<= 365 days back); lifetime values at the run date come from
    int_activity__customer_lifetime (incremental by customer), at earlier cutoffs they are summed per cutoff
    bucket (prev cutoff, cutoff] and carried forward with a running window instead of re-joining the whole
    history to every cutoff. Raw measures only: ratios, flags and nulls-as-zero are applied in int_churn__features.
    The nightly build has one cutoff, the run date (int_churn__cutoffs): every value that needs the whole
    history (lifetime, purchase cycle) comes from int_activity__customer_lifetime, the per-cutoff buckets are
    compiled only into a build with training cutoffs (macro churn_with_training_cutoffs), the trailing
    windows (macro activity_windows) come from int_activity__customer_windows, carried forward from the
    previous night, and the 30-day login gaps read int_activity__customer_days directly, from the window's
    first day on. At a training cutoff the windows are summed from the days with the same macro. -#}
{%- set with_training = churn_with_training_cutoffs() %}
{#- The earliest cutoff, where the windows' first days are counted from: the run date, a literal, in a nightly
    build (the planner sizes the range: a scan of the window's days, not a walk of the whole index); the
    minimum of the cutoffs with training cutoffs. -#}
{%- if with_training %}
    {%- set first_cutoff = '(select min(c.as_of_date) from ' ~ ref('int_churn__cutoffs') ~ ' as c)' %}
{%- else %}
    {%- set first_cutoff = run_date() %}
{%- endif %}
with as_of as (
    select as_of_date, prev_as_of_date from {{ ref('int_churn__cutoffs') }}
),

customers as (
    select customer_id, {{ utc_date('registered_at') }} as registered_date
    from {{ ref('stg_crm__customers') }}
),

-- lifetime (CF-01, CF-03, CF-04): at the run date (and any cutoff after it: the days stop at the run date)
-- from int_activity__customer_lifetime, incremental by customer; at a training cutoff before the run date
-- per cutoff bucket (prev cutoff, cutoff], carried forward per customer. Same aggregates in both
-- (macro activity_lifetime_aggregates): the carried-forward buckets up to the run date are the lifetime.
{%- if with_training %}
buckets as (
    select
        d.customer_id,
        a.as_of_date,
        {{ activity_lifetime_aggregates('d') }}
    from {{ ref('int_activity__customer_days') }} as d
    join as_of as a
      on d.activity_date <= a.as_of_date
     and (a.prev_as_of_date is null or d.activity_date > a.prev_as_of_date)
    where a.as_of_date < {{ run_date() }}
      and d.activity_date < {{ run_date() }}
    group by d.customer_id, a.as_of_date
),

lifetime as (
    select
        g.customer_id,
        g.as_of_date,
        sum(coalesce(b.paid_orders, 0)) over w as orders_lifetime,
        max(b.last_order_date) over w as last_order_date,
        max(b.last_login_date) over w as last_login_date,
        max(b.last_activity_date) over w as last_activity_date
    from (
        select c.customer_id, a.as_of_date
        from customers as c
        cross join as_of as a
        where a.as_of_date < {{ run_date() }}
    ) as g
    left join buckets as b on b.customer_id = g.customer_id and b.as_of_date = g.as_of_date
    window w as (partition by g.customer_id order by g.as_of_date rows between unbounded preceding and current row)

    union all
{%- else %}
lifetime as (
{%- endif %}

    select
        c.customer_id,
        a.as_of_date,
        coalesce(l.paid_orders, 0) as orders_lifetime,
        l.last_order_date,
        l.last_login_date,
        l.last_activity_date
    from customers as c
    cross join as_of as a
    left join {{ ref('int_activity__customer_lifetime') }} as l on l.customer_id = c.customer_id
    where a.as_of_date >= {{ run_date() }}
),

-- windowed daily facts (CF-01..CF-05; macro activity_windows): orders over 365 days, interactions over 120 days.
-- At the run date (and after it: the days stop at the run date) from int_activity__customer_windows, which a
-- forward night carries forward from the previous night instead of re-reading every customer-day in the
-- windows; at a training cutoff before the run date summed from the days.
windowed as (
    select w.customer_id, a.as_of_date, {{ activity_window_columns('w') }}
    from {{ ref('int_activity__customer_windows') }} as w
    cross join as_of as a
    where a.as_of_date >= {{ run_date() }}
    {%- if with_training %}

    union all

    select d.customer_id, a.as_of_date, {{ activity_window_sums('d', 'a.as_of_date', internal=false) }}
    from {{ ref('int_activity__customer_days') }} as d
    join as_of as a on {{ activity_window_scope('d', 'a.as_of_date') }}
    where a.as_of_date < {{ run_date() }}
      and d.activity_date > {{ first_cutoff }} - 365
      and (d.paid_orders > 0 or d.activity_date > {{ first_cutoff }} - 120)
    group by d.customer_id, a.as_of_date
    {%- endif %}
),

-- CF-02 purchase cycle: median gap between consecutive purchase days, each gap known from its later purchase
-- day. At the run date (and after it) every purchase day counts: int_activity__customer_lifetime; at a
-- training cutoff before it, the gaps up to the cutoff.
cycles as (
    select l.customer_id, a.as_of_date, l.median_purchase_cycle_days as median_cycle_days
    from {{ ref('int_activity__customer_lifetime') }} as l
    cross join as_of as a
    where a.as_of_date >= {{ run_date() }}
      and l.median_purchase_cycle_days is not null
    {%- if with_training %}

    union all

    select g.customer_id, a.as_of_date, percentile_cont(0.5) within group (order by g.gap_days)
    from (
        select
            customer_id,
            activity_date,
            activity_date - lag(activity_date) over (partition by customer_id order by activity_date) as gap_days
        from {{ ref('int_activity__customer_days') }}
        where paid_orders > 0
          and activity_date < {{ run_date() }}
    ) as g
    join as_of as a on g.activity_date <= a.as_of_date
    where g.gap_days is not null
      and a.as_of_date < {{ run_date() }}
    group by g.customer_id, a.as_of_date
    {%- endif %}
),

-- CF-03 longest run of days without a login inside the last 30 days (window starts at registration)
login_days_30 as (
    select
        d.customer_id,
        a.as_of_date,
        d.activity_date,
        lag(d.activity_date) over (partition by d.customer_id, a.as_of_date order by d.activity_date) as prev_login_date
    from {{ ref('int_activity__customer_days') }} as d
    join as_of as a
      on d.activity_date <= a.as_of_date
     and d.activity_date > a.as_of_date - 30
    where d.logins > 0
      and d.activity_date > {{ first_cutoff }} - 30
),

login_gaps_30 as (
    select
        l.customer_id,
        l.as_of_date,
        max(l.activity_date) as last_login_30d,
        max(l.activity_date - coalesce(l.prev_login_date, greatest(l.as_of_date - 30, c.registered_date - 1)) - 1) as max_inner_gap
    from login_days_30 as l
    join customers as c on c.customer_id = l.customer_id
    group by l.customer_id, l.as_of_date
)

select
    p.customer_id,
    p.as_of_date,
    lt.orders_lifetime,
    lt.last_order_date,
    lt.last_login_date,
    lt.last_activity_date,
    {{- activity_window_columns('w') }},
    cy.median_cycle_days,
    lg.last_login_30d,
    lg.max_inner_gap
from {{ ref('int_churn__population') }} as p
left join lifetime as lt on lt.customer_id = p.customer_id and lt.as_of_date = p.as_of_date
left join windowed as w on w.customer_id = p.customer_id and w.as_of_date = p.as_of_date
left join cycles as cy on cy.customer_id = p.customer_id and cy.as_of_date = p.as_of_date
left join login_gaps_30 as lg on lg.customer_id = p.customer_id and lg.as_of_date = p.as_of_date
