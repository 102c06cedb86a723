{#- RP-03 scoreboard: one row per crisis event and KPI, each against its seeded target (policy
    parameters), so the morning report can say which KPIs are on or off target. Figures come from
    crisis_recovery (repurchase recovery, satisfaction rebound, change in complaint rate) and
    crisis_effects (churn uplift, win-back revival, loyalty uplift, recurrence); definitions are there.
      baseline / measured = the two rates compared (before / after, or hold-out / treated);
      n_measured / n_baseline = customers behind each (the bases of the two rates);
      status: 'window open'      the KPI's window has not passed yet (the figures so far are shown);
              'not enough data'  no value, or a base below outcome_min_group_size (RP-15's minimum);
              'no target'        a KPI the seed gives no target for (CSAT rebound, complaint change);
              'no target set'    the target parameter is unset in the profile in force;
              'on target' / 'off target'.
    Targets: recovery >= crisis_recovery_target (85 %, 000-1a); churn uplift <= crisis_churn_uplift_max
    (the seed's 22 % average, 000-1a); win-back revival uplift >= crisis_winback_revival_uplift_target
    (+18 %, 000-1c); loyalty uplift of CP-05 recipients >= crisis_loyalty_uplift_target (+28 %, 000-1e;
    reference = crisis_loyalty_uplift_reference, the 12 % without intervention, shown beside it);
    recurrence reduction >= crisis_recurrence_reduction_target (70 %, 000-1e). The claims are targets,
    never acceptance criteria (seed_spec 3.13). A union of one select per KPI, no lateral or cross join
    (enable_nestloop = off). -#}
with params as (
    select
        {{ policy_param('crisis_recovery_target') }} as recovery_target,
        {{ policy_param('crisis_churn_uplift_max') }} as churn_uplift_max,
        {{ policy_param('crisis_winback_revival_uplift_target') }} as revival_target,
        {{ policy_param('crisis_loyalty_uplift_target') }} as loyalty_target,
        {{ policy_param('crisis_loyalty_uplift_reference') }} as loyalty_reference,
        {{ policy_param('crisis_recurrence_reduction_target') }} as recurrence_target,
        {{ policy_param('outcome_min_group_size', 'integer') }} as min_group_size,
        {{ policy_version() }} as policy_version
),

recovery as (
    select * from {{ ref('crisis_recovery') }} where run_date = {{ run_date() }}
),

effects as (
    select * from {{ ref('crisis_effects') }} where run_date = {{ run_date() }}
),

kpis as (
    select crisis_event_id, crisis_type, 1 as kpi_order, 'repurchase_recovery' as kpi,
           'ratio' as unit, repurchase_pre as baseline, repurchase_post as measured,
           repurchase_recovery as value, affected_customers as n_measured, buyers_pre as n_baseline,
           (select recovery_target from params) as target, 'at least' as target_direction,
           null::double precision as reference, is_mature
    from recovery

    union all

    select crisis_event_id, crisis_type, 2, 'satisfaction_rebound', 'CSAT points', csat_pre, csat_post,
           csat_rebound, affected_customers, affected_customers, null, null, null, is_mature
    from recovery

    union all

    select crisis_event_id, crisis_type, 3, 'complaint_rate_change', 'complaints per customer',
           complaints_per_customer_pre, complaints_per_customer_post,
           complaints_per_customer_post - complaints_per_customer_pre, affected_customers, affected_customers,
           null, null, null, is_mature
    from recovery

    union all

    select crisis_event_id, crisis_type, 4, 'churn_uplift', 'relative change', churn_rate_pre,
           churn_rate_post, churn_uplift, churn_base_post, churn_base_pre,
           (select churn_uplift_max from params), 'at most', null, is_mature
    from effects

    union all

    select crisis_event_id, crisis_type, 5, 'winback_revival_uplift', 'relative change', revival_holdout,
           revival_treated, revival_uplift, winback_treated, winback_holdout,
           (select revival_target from params), 'at least', null, winback_is_mature
    from effects

    union all

    select crisis_event_id, crisis_type, 6, 'loyalty_uplift', 'relative change', repurchase_pre_recipients,
           repurchase_post_recipients, loyalty_uplift_recipients, cp05_recipients, cp05_recipients,
           (select loyalty_target from params), 'at least', (select loyalty_reference from params), is_mature
    from effects

    union all

    select crisis_event_id, crisis_type, 7, 'recurrence_reduction', 'relative change', recurrence_holdout,
           recurrence_treated, recurrence_reduction, health_check_treated, health_check_holdout,
           (select recurrence_target from params), 'at least', null, health_check_is_mature
    from effects
)

select
    {{ run_date() }} as run_date,
    k.crisis_event_id,
    k.crisis_type,
    k.kpi_order,
    k.kpi,
    k.unit,
    k.baseline::double precision as baseline,
    k.measured::double precision as measured,
    k.value::double precision as value,
    k.n_measured::bigint as n_measured,
    k.n_baseline::bigint as n_baseline,
    k.target::double precision as target,
    k.target_direction,
    k.reference::double precision as reference,
    k.is_mature,
    case
        when not k.is_mature then 'window open'
        when k.value is null
          or not {{ crisis_kpi_bases_suffice('k.n_measured', 'k.n_baseline', '(select min_group_size from params)') }}
            then 'not enough data'
        when k.target_direction is null then 'no target'
        when k.target is null then 'no target set'
        when k.target_direction = 'at least' and k.value >= k.target then 'on target'
        when k.target_direction = 'at most' and k.value <= k.target then 'on target'
        else 'off target'
    end as status,
    (select min_group_size from params) as min_group_size,
    (select policy_version from params) as policy_version
from kpis as k
