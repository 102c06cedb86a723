{{ config(tags=["lists"]) }}
{#- Retention rule hits on var('run_date'), emotion family (seed_spec 3.7), active customers only:
      RL-14 the customer's dominant emotion has an action in risk_levels (dimension 'emotion');
            retention_candidates takes that action unless crisis mode overrides it. -#}
select c.customer_id, 'RL-14'::text as rule_code, null::text as crisis_event_id,
       ('emotion_' || c.dominant_emotion)::text as trigger_detail
from {{ ref('int_lists__customer_profile') }} as c
join {{ policy_rows('risk_levels', ['dimension', 'level']) }} as r
  on r.dimension = 'emotion' and r.level = c.dominant_emotion and r.action_code is not null
where c.customer_status = 'active'
