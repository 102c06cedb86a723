{{ config(tags=["lists"]) }}
{#- Retention rule hits on var('run_date'), churn-risk family (seed_spec 3.7), active customers only:
      RL-03 / RL-04 churn band high / medium (marts.churn_bands, CH-05 thresholds), not lapsed (CH-02). -#}
select c.customer_id,
       case c.churn_band when 'high' then 'RL-03' else 'RL-04' end::text as rule_code,
       null::text as crisis_event_id,
       ('churn_band_' || c.churn_band)::text as trigger_detail
from {{ ref('int_lists__customer_profile') }} as c
where c.customer_status = 'active'
  and c.churn_band in ('high', 'medium')
  and c.lifecycle_stage <> 'lapsed'
