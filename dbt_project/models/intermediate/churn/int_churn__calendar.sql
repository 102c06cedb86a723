{{ config(materialized='table', indexes=[{'columns': ['as_of_date'], 'unique': true}]) }}
{#- CF-18 calendar context: a crisis of any kind is under way at the as-of date (started before its end,
    not resolved by then), the same for every customer. Days to the next holiday would need a calendar
    input the landing contract does not carry.
    Keyed by as_of_date alone. -#}
select
    a.as_of_date,
    max(case when ce.crisis_event_id is not null then 1 else 0 end) as in_crisis_period
from {{ ref('int_churn__cutoffs') }} as a
left join {{ ref('stg_crm__crisis_events') }} as ce
  on ce.started_at < a.as_of_end
 and (ce.resolved_at is null or ce.resolved_at >= a.as_of_end)
group by a.as_of_date
