{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Crisis exposure family of the churn features (CF-11), per (customer_id, as_of_date) of a customer
    affected by a crisis that started before the end of the as-of date: distinct crises and the last
    start (the trust-repair window flag is applied in int_churn__features). -#}
select
    ac.customer_id,
    a.as_of_date,
    count(distinct ce.crisis_event_id) as crisis_exposures,
    max(ce.started_at) as last_exposure_at
from {{ ref('stg_crm__crisis_affected_customers') }} as ac
join {{ ref('stg_crm__crisis_events') }} as ce on ce.crisis_event_id = ac.crisis_event_id
join {{ ref('int_churn__cutoffs') }} as a on ce.started_at < a.as_of_end
group by ac.customer_id, a.as_of_date
