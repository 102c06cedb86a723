{{ config(**incremental_customers_config(
    [['orders', 'order_id', 'order_ts'], ['interactions', 'event_id', 'event_ts'],
     ['tickets', 'ticket_id', 'created_at'], ['surveys', 'survey_id', 'responded_at']],
    indexes=[{'columns': ['customer_id'], 'unique': true}],
)) }}
{#- Lifetime activity per customer as of run_date (CF-01, CF-03, CF-04): paid orders, last order / login /
    activity day over every day of int_activity__customer_days. The run-date row of int_churn__activity's
    lifetime family reads it instead of re-aggregating every customer's whole history each night (the
    largest sort of the nightly marts at 100k: 3.7M customer-days); the training cutoffs before the run
    date keep their per-bucket sums there. The aggregates are written once (macro
    activity_lifetime_aggregates) for both. Incremental by customer (macro incremental_customers, the
    same sources as int_activity__customer_days): a customer's lifetime changes only with its days. -#}
select
    d.customer_id,
    {{ activity_lifetime_aggregates('d') }}
from {{ ref('int_activity__customer_days') }} as d
where true
  {{ incremental_customers_filter('d.customer_id') }}
group by d.customer_id
