{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
-- depends_on: {{ ref('int_activity__customer_days') }}
{#- CF-02 / CF-14 purchase cycle and deviation from the customer's own baseline, per purchase day
    (several orders on one day are one purchase): inter-purchase gaps and the amount of each purchase day
    against the mean and spread of the customer's earlier purchase days (macros purchase_day_measures and
    purchase_cycle_aggregates). Per (customer_id, as_of_date) with a purchase day up to the as-of date.
    At the run date (and after it: the days stop at the run date) every purchase day counts: the aggregates
    come from int_activity__customer_lifetime, incremental by customer, instead of a pass over every
    customer's purchase history each night; at a training cutoff before the run date (compiled in only when
    the invocation builds the training snapshots, macro churn_with_training_cutoffs) from the purchase days
    up to the cutoff. -#}
{%- set with_training = churn_with_training_cutoffs() %}
select
    l.customer_id,
    a.as_of_date,
    l.purchase_days_lifetime,
    l.first_purchase_date,
    l.gap_mean_days,
    l.gap_sd_days,
    l.gap_max_days,
    l.last_gap_days,
    l.purchase_amount_z_last
from {{ ref('int_activity__customer_lifetime') }} as l
cross join {{ ref('int_churn__cutoffs') }} as a
where a.as_of_date >= {{ run_date() }}
  and l.purchase_days_lifetime is not null
{%- if with_training %}

union all

select
    pd.customer_id,
    a.as_of_date,
    {{ purchase_cycle_aggregates('pd') }}
from (
    select d.customer_id, d.activity_date, {{ purchase_day_measures('d') }}
    from {{ ref('int_activity__customer_days') }} as d
    where d.paid_orders > 0
      and d.activity_date < {{ run_date() }}
) as pd
join {{ ref('int_churn__cutoffs') }} as a on pd.activity_date <= a.as_of_date
where a.as_of_date < {{ run_date() }}
group by pd.customer_id, a.as_of_date
{%- endif %}
