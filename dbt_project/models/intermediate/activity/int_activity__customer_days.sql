{{ config(**incremental_customers_config(
    ['orders', 'interactions', 'tickets', 'surveys'],
    indexes=[{'columns': ['activity_date']}, {'columns': ['customer_id', 'activity_date']}],
    grain='day',
)) }}
{#- Daily activity per customer and UTC date (seed_spec 2.1, ST-08), as of run_date: the pre-aggregate
    that makes the churn-feature macro cheap for several as-of dates (CF-01..CF-05 join days, not
    events, to the cutoffs). Counts only what the landing contract carries: orders are required,
    interactions / tickets / surveys are optional and simply add nothing when their files are empty.
    Built from the incremental current-state facts (fct_orders, fct_interactions,
    int_complaints__tickets_latest, int_feedback__surveys_latest): a hash aggregate over tables, no version
    sort.
    Incremental by customer-day (macro incremental_customers, grain 'day'): a row depends only on that
    day's events of the customer up to run_date, so a forward night re-aggregates the days of every version
    of a new or replaced order / event / ticket / survey (a replaced version may move or remove activity on
    a past day: the old version's day is recomputed too) since the last build, and leaves every other row
    as it is; a rerun or backfill rebuilds as of run_date.
    last_activity_at (the day's latest activity time, the events of int_customers__activity_events) lets
    int_customers__revenue read a customer's last activity from int_activity__customer_lifetime instead of
    scanning every event each night.
    The (customer_id, activity_date) index is not unique (the key's uniqueness is this model's data test):
    a forward night re-inserts keys whose old rows the pre-hook deleted in the same transaction, and a unique
    index checks each against that row's heap page, a random read; at 1,000,000 customers (38M rows, 128 MB
    shared_buffers) the 132k-row append took 172 s of I/O wait for 9 CPU s, 7.7 s without the check and in
    key order (incremental_customers_order; docs/scaling.md, "Session 12: the incremental night at
    1,000,000 customers"). A warehouse built with the unique index keeps it until a --full-refresh.
    A forward night reads the affected customer-days' orders, events and tickets through their (customer_id,
    time) indexes, one probe per customer-day (macro incremental_customers_day_rows), not by a scan of every
    event: at 300,000 customers the interactions' part of the night's select 3.6 -> 0.35 s (docs/scaling.md,
    "Session 31"). -#}
with events as (
    select
        o.customer_id,
        {{ utc_date('o.order_ts') }} as activity_date,
        1 as orders_placed,
        case when o.order_status <> 'cancelled' then 1 else 0 end as paid_orders,
        case when o.order_status <> 'cancelled' then o.net_amount else 0 end as paid_revenue,
        0 as logins,
        0 as app_events,
        0 as tickets_raised,
        0 as survey_responses,
        o.order_ts as activity_ts
    from {{ incremental_customers_day_rows(ref('fct_orders'), 'o', 'order_ts') }}
    where o.order_ts < {{ run_end() }}

    union all

    select
        i.customer_id,
        {{ utc_date('i.event_ts') }},
        0, 0, 0,
        case when i.event_type = 'login' then 1 else 0 end,
        case when i.event_type <> 'login' then 1 else 0 end,
        0, 0,
        i.event_ts
    from {{ incremental_customers_day_rows(ref('fct_interactions'), 'i', 'event_ts') }}
    where i.event_type <> 'login_failed'
      and i.event_ts < {{ run_end() }}

    union all

    select t.customer_id, {{ utc_date('t.created_at') }}, 0, 0, 0, 0, 0, 1, 0, t.created_at
    from {{ incremental_customers_day_rows(ref('int_complaints__tickets_latest'), 't', 'created_at') }}
    where t.customer_id is not null
      and t.created_at < {{ run_end() }}

    union all

    select customer_id, {{ utc_date('responded_at') }}, 0, 0, 0, 0, 0, 0, 1, responded_at
    from {{ ref('int_feedback__surveys_latest') }}
    where responded_at < {{ run_end() }}
      {{ incremental_customers_filter(ts='responded_at') }}
)

select
    customer_id,
    activity_date,
    sum(orders_placed)::integer as orders_placed,
    sum(paid_orders)::integer as paid_orders,
    sum(paid_revenue)::numeric(18, 2) as paid_revenue,
    sum(logins)::integer as logins,
    sum(app_events)::integer as app_events,
    sum(tickets_raised)::integer as tickets_raised,
    sum(survey_responses)::integer as survey_responses,
    max(activity_ts) as last_activity_at
from events
group by customer_id, activity_date
{{ incremental_customers_order('customer_id, activity_date') }}
