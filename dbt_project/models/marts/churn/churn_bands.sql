{{ config(tags=['lists'],
          pre_hook="{% if is_incremental() %}delete from {{ this }} where run_date = {{ run_date() }}{% endif %}") }}
{#- CH-05 churn bands on every scored customer of var('run_date'): high / medium / low from the risk_levels rows
    of dimension churn and their threshold parameters (churn_band_high_min, churn_band_medium_min) applied to
    the model's CALIBRATED churn probability (scoring.churn_scores is written from the calibrated model, see
    models/churn/MODEL_CARD.md "Churn bands"). A customer takes the first band (lowest level_rank) whose
    threshold the probability reaches; below every threshold the band without a threshold (low). While no
    threshold is set under the policy profile (strict, or an unset [U]) the band stays null: no band is
    invented. The lists read the band from here (int_lists__customer_profile), so listed and unlisted
    customers are banded by the same rule. Tagged `lists`: built after scoring in the nightly dbt_lists step. -#}
with scores as (
    select customer_id, churn_probability, model_version, mlflow_run_id
    from {{ ref('stg_scoring__churn_scores') }}
    where run_date = {{ run_date() }}
),

band_levels as (
    select r.level, r.level_rank, r.threshold_param,
           {{ policy_value('pp') }}::double precision as threshold
    from {{ policy_rows('risk_levels', ['dimension', 'level']) }} as r
    left join {{ policy_rows('policy_parameters', ['key']) }} as pp on pp.key = r.threshold_param
    where r.dimension = 'churn'
),

configured as (
    select exists (select 1 from band_levels where threshold is not null) as any_threshold
),

matched as (
    select
        s.*,
        coalesce(
            (select b.level from band_levels as b
              where b.threshold is not null and s.churn_probability >= b.threshold
              order by b.level_rank limit 1),
            case when c.any_threshold and s.churn_probability is not null
                 then (select b.level from band_levels as b where b.threshold_param is null
                       order by b.level_rank limit 1) end
        ) as churn_band
    from scores as s
    cross join configured as c
)

select
    {{ run_date() }} as run_date,
    m.customer_id::text as customer_id,
    m.churn_probability::double precision as churn_probability,
    m.churn_band::text as churn_band,
    b.level_rank::integer as churn_band_rank,
    b.threshold::double precision as band_threshold,
    m.model_version::text as model_version,
    m.mlflow_run_id::text as mlflow_run_id,
    '{{ policy_profile() }}'::text as policy_profile,
    {{ policy_version() }}::text as policy_version
from matched as m
left join band_levels as b on b.level = m.churn_band
