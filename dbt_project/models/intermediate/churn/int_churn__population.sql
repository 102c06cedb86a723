{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- The churn-feature population (CF, CH-02): every customer registered before the end of each as-of date
    of int_churn__cutoffs, with the status held in staging (not a feature: the latest status, not the one
    at the cutoff). The spine every int_churn__* family is left-joined to in int_churn__features. -#}
select
    c.customer_id,
    a.as_of_date,
    a.as_of_end,
    c.customer_status,
    c.registered_at,
    {{ utc_date('c.registered_at') }} as registered_date
from {{ ref('stg_crm__customers') }} as c
join {{ ref('int_churn__cutoffs') }} as a on c.registered_at < a.as_of_end
