{{ config(tags=["lists"]) }}
{#- Staging: churn scores of runs up to var('run_date'). Lists pick the run_date's rows.
    clv_estimate (CV-06) is written by the scoring step since it computes CLV (null when unknown). -#}
select
    run_date,
    customer_id,
    churn_probability::double precision as churn_probability,
    model_name,
    model_version,
    mlflow_run_id,
    scored_at,
    clv_estimate::double precision as clv_estimate
from {{ source('scoring', 'churn_scores') }}
where run_date <= {{ run_date() }}
