{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- CF-17 marketing engagement: marketing contacts received in 30 days; over 90 days the share opened
    (opened / responded / accepted) and responded (responded / accepted) among contacts with an outcome;
    opted out of marketing ever. Only purpose = marketing: retention contacts follow the churn score
    itself, and learning from them would feed the model its own decisions. -#}
select
    c.customer_id,
    a.as_of_date,
    count(*) filter (where c.contact_ts >= a.as_of_end - interval '30 days') as marketing_contacts_30d,
    avg(case when c.outcome in ('opened', 'responded', 'accepted') then 1.0 else 0.0 end) filter (
        where c.outcome is not null and c.contact_ts >= a.as_of_end - interval '90 days'
    ) as marketing_open_rate_90d,
    avg(case when c.outcome in ('responded', 'accepted') then 1.0 else 0.0 end) filter (
        where c.outcome is not null and c.contact_ts >= a.as_of_end - interval '90 days'
    ) as marketing_response_rate_90d,
    max(case when c.outcome = 'opted_out' then 1 else 0 end) as marketing_opted_out
from {{ ref('stg_crm__contacts') }} as c
join {{ ref('int_churn__cutoffs') }} as a on c.contact_ts < a.as_of_end
where c.purpose = 'marketing'
group by c.customer_id, a.as_of_date
