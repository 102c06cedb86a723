{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- CF-12 risk keywords in the customer's own messages over 30 days: texts (ticket texts, survey comments)
    where the enrichment task found a keyword of the `risk` list of the keyword_lists seed (one source for
    the list: the enrichment's matcher; no sentiment gate, a keyword match does not depend on the model).
    Without the enrichment (customers + orders only) the count is 0.
    Per (customer_id, as_of_date) with such a text. -#}
select t.customer_id, a.as_of_date, count(*) as risk_keyword_messages_30d
from {{ ref('stg_enrichment__text_sentiment') }} as t
join {{ ref('int_churn__cutoffs') }} as a
  on t.text_ts < a.as_of_end
 and t.text_ts >= a.as_of_end - interval '30 days'
where t.customer_id is not null
  and t.has_risk_keyword
group by t.customer_id, a.as_of_date
