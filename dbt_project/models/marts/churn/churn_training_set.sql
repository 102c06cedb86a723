{{ config(materialized='table', tags=['training']) }}
{#- Churn training set (CH-01, CH-02): point-in-time features at every training cutoff of
    int_churn__cutoffs (the same model int_churn__features the nightly churn_features reads), population =
    customers not already lapsed at the cutoff, label churned = 1 when the customer has no activity in
    (cutoff, cutoff + churn_label_horizon_days]: orders, plus logins / app events when
    churn_activity_includes_interactions is true (policy churn_training_population widens the population
    to every customer with a paid order). Rebuilt each run from the data known at run_date. -#}
with cutoffs as (
    select as_of_date, as_of_end from {{ ref('int_churn__cutoffs') }} where is_training
),

params as (
    select
        {{ policy_param('churn_label_horizon_days', 'integer') }} as horizon_days,
        {{ policy_param('winback_min_inactive_days', 'integer') }} as winback_min_inactive_days,
        {{ policy_param('churn_activity_includes_interactions', 'boolean') }} as includes_interactions,
        coalesce({{ policy_param('churn_training_population', 'text') }}, 'non_lapsed') as training_population
),

label_activity as (
    select distinct ev.customer_id, c.as_of_date
    from cutoffs as c
    cross join params as p
    join {{ ref('int_customers__activity_events') }} as ev
      on ev.activity_ts >= c.as_of_end
     and ev.activity_ts < c.as_of_end + make_interval(days => p.horizon_days)
    where ev.activity_type = 'order'
       or (p.includes_interactions and ev.activity_type = 'interaction')
)

select
    {{ churn_interface_columns('f') }},
    case when la.customer_id is null then 1 else 0 end as churned
from {{ ref('int_churn__features') }} as f
join cutoffs as c on c.as_of_date = f.as_of_date
cross join params as p
left join label_activity as la on la.customer_id = f.customer_id and la.as_of_date = f.as_of_date
-- Population (CH-02): not already lapsed at the cutoff; with churn_training_population = all_purchasers
-- also the lapsed customers with a paid order (their scores rank the win-back layer and are then learnt,
-- not extrapolated from the non-lapsed). The customer's status is deliberately not used: staging holds
-- the latest status, and an account closed after the cutoff is the outcome.
where (
    f.days_inactive < p.winback_min_inactive_days
    or (p.training_population = 'all_purchasers' and f.orders_lifetime > 0)
  )
  -- PS-12: nobody whose profiling consent is withdrawn as of the run date is trained on (generated macro)
  and {{ consent_allows('f.customer_id', 'profiling') }}
