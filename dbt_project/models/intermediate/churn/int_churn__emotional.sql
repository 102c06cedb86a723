{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Emotional account of the churn features (CF-07, CV-11): the sum of every emotional deposit / overdraft
    (int_activity__emotional_events) before the end of the as-of date, per (customer_id, as_of_date). -#}
select e.customer_id, a.as_of_date, sum(e.weight) as emotional_balance
from {{ ref('int_activity__emotional_events') }} as e
join {{ ref('int_churn__cutoffs') }} as a on e.event_ts < a.as_of_end
group by e.customer_id, a.as_of_date
