{{ config(tags=["lists"]) }}
{#- Staging: reason codes of the churn scores (CH-06), runs up to var('run_date'). The scoring step
    writes scoring.churn_reasons; before it ever ran the source is empty (created by the on-run-start
    hook create_source_tables()), and the lists then carry no reason codes. -#}
select
    run_date,
    customer_id,
    reason_rank::integer as reason_rank,
    feature::text as feature,
    contribution::double precision as contribution,
    reason_text::text as reason_text
from {{ source('scoring', 'churn_reasons') }}
where run_date <= {{ run_date() }}
