{{ config(tags=["lists"]) }}
{#- CH-06 per customer as of var('run_date'): the top-3 churn reasons in business words
    (scoring.churn_reasons.reason_text, '; '-separated) and the raw feature names by rank (reason_codes,
    '|'-separated). Read by the two list models, which dbt builds after the candidates' reasons are written
    (tasks.build_lists: candidates -> reasons -> lists); int_lists__customer_profile is built before them,
    so it cannot carry them. -#}
select
    customer_id,
    string_agg(feature, '|' order by reason_rank) as reason_codes,
    string_agg(nullif(trim(reason_text), ''), '; ' order by reason_rank) as reasons
from {{ ref('stg_scoring__churn_reasons') }}
where run_date = {{ run_date() }}
group by customer_id
