{#- Scoring features (CF, seed_spec 3.5): one row per customer as of run_date. Every customer is
    scored each night, lapsed ones included, because their scores rank the win-back layer (RL-01);
    the CH-02 population restriction applies to training (churn_training_set), not to scoring.
    Interface to the model code: customer_id, as_of_date, run_date, policy_version, then numeric
    features only (the same columns as churn_training_set, from the same model int_churn__features). -#}
select
    {{ churn_interface_columns('f') }}
from {{ ref('int_churn__features') }} as f
where f.as_of_date = {{ run_date() }}
