{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Compensation family of the churn features (CF-10), per (customer_id, as_of_date) with a compensation
    issued in the 365 days before the end of the as-of date: count, amount, second rounds, and the mean
    hours from the ticket's creation to the compensation. -#}
select
    c.customer_id,
    a.as_of_date,
    count(*) as compensations_365d,
    coalesce(sum(c.amount), 0) as compensation_amount_365d,
    count(*) filter (where c.round_no >= 2) as second_round_compensations_365d,
    avg({{ minutes_between('t.created_at', 'c.issued_at') }} / 60.0) filter (where t.created_at <= c.issued_at)
        as mean_hours_to_compensation_365d
from {{ ref('stg_crm__compensations') }} as c
join {{ ref('int_churn__cutoffs') }} as a
  on c.issued_at < a.as_of_end
 and c.issued_at >= a.as_of_end - interval '365 days'
left join {{ ref('int_complaints__tickets_latest') }} as t on t.ticket_id = c.ticket_id
group by c.customer_id, a.as_of_date
