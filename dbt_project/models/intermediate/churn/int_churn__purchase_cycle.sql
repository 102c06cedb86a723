{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- CF-02 / CF-14 purchase cycle and deviation from the customer's own baseline, per purchase day
    (several orders on one day are one purchase): inter-purchase gaps and the amount of each purchase day
    against the mean and spread of the customer's earlier purchase days. Read from int_activity__customer_days.
    Per (customer_id, as_of_date) with a purchase day up to the as-of date. -#}
with days as (
    select * from {{ ref('int_activity__customer_days') }}
),

purchase_days as (
    select
        d.customer_id,
        d.activity_date,
        d.paid_revenue::double precision as amount,
        d.activity_date - lag(d.activity_date) over w as gap_days,
        (d.paid_revenue - avg(d.paid_revenue) over w_before)
            / nullif(stddev_samp(d.paid_revenue) over w_before, 0) as amount_z
    from days as d
    where d.paid_orders > 0
    window w as (partition by d.customer_id order by d.activity_date),
           w_before as (partition by d.customer_id order by d.activity_date
                        rows between unbounded preceding and 1 preceding)
)

select
    pd.customer_id,
    a.as_of_date,
    count(*) as purchase_days_lifetime,
    min(pd.activity_date) as first_purchase_date,
    avg(pd.gap_days)::double precision as gap_mean_days,
    stddev_samp(pd.gap_days)::double precision as gap_sd_days,
    max(pd.gap_days) as gap_max_days,
    (array_agg(pd.gap_days order by pd.activity_date desc))[1] as last_gap_days,
    (array_agg(pd.amount_z order by pd.activity_date desc))[1] as purchase_amount_z_last
from purchase_days as pd
join {{ ref('int_churn__cutoffs') }} as a on pd.activity_date <= a.as_of_date
group by pd.customer_id, a.as_of_date
