{{ config(tags=["lists"]) }}
{#- Retention rule hits on var('run_date'), crisis family (seed_spec 3.7), active customers only:
      RL-07 crisis mode (an active crisis) and crisis-sensitive: the latest active crisis.
      RL-08 affected by an active service outage.
      RL-09 T1/T2 affected by an active crisis.
      RL-10 affected by a crisis resolved within post_crisis_revisit_days, latest survey since the crisis
            start CSAT <= post_crisis_revisit_csat_max or NPS <= post_crisis_revisit_nps_max, sampled
            (deterministic uniform_draw < post_crisis_revisit_sample_rate).
      RL-11 crisis-sensitive, a crisis resolved within post_crisis_offer_window_days (the latest one).
      RL-12 affected by a crisis that is active or resolved less than care_content_duration_months ago.
    One row per (customer, rule): a customer in several crises gets the first by crisis_event_id. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }} where customer_status = 'active'
),

crisis as (
    select * from {{ ref('int_lists__crisis_exposure') }}
),

active_crisis as (
    select crisis_event_id from crisis where is_active order by started_at desc, crisis_event_id limit 1
),

{#- RL-10: each exposure's latest scored survey since the crisis start, up to the run date, computed once for
    every exposure (set-based). A per-row lateral subquery re-evaluated the as-of survey view once per
    exposed customer: 497 x 15,000 rows, 32 s at 5,000 customers, quadratic in customers. Ties on
    responded_at are broken by survey_id so the pick is deterministic. -#}
exposure_survey as (
    select distinct on (x.customer_id, x.crisis_event_id, x.started_at)
        x.customer_id, x.crisis_event_id, x.started_at, s.survey_type, s.score
    from crisis as x
    join {{ ref('int_feedback__surveys_latest') }} as s on s.customer_id = x.customer_id
    where s.responded_at >= x.started_at and s.responded_at < {{ run_end() }} and s.score is not null
    order by x.customer_id, x.crisis_event_id, x.started_at, s.responded_at desc, s.survey_id
)

select c.customer_id, 'RL-07'::text as rule_code, a.crisis_event_id::text as crisis_event_id,
       'crisis_sensitive'::text as trigger_detail
from cust as c cross join active_crisis as a
where c.is_crisis_sensitive

union all
select distinct on (x.customer_id) x.customer_id, 'RL-08', x.crisis_event_id, 'service_outage'
from crisis as x join cust as c on c.customer_id = x.customer_id
where x.is_active and x.crisis_type = 'service_outage'

union all
select distinct on (x.customer_id) x.customer_id, 'RL-09', x.crisis_event_id, x.crisis_type
from crisis as x join cust as c on c.customer_id = x.customer_id
where x.is_active and c.value_tier in ('T1_DIAMOND', 'T2_GOLD')

union all
select distinct on (x.customer_id) x.customer_id, 'RL-10', x.crisis_event_id, 'post_crisis_dissatisfied'
from crisis as x
join cust as c on c.customer_id = x.customer_id
cross join p
join exposure_survey as sv
    on sv.customer_id = x.customer_id and sv.crisis_event_id = x.crisis_event_id and sv.started_at = x.started_at
where not x.is_active and x.days_since_resolved <= p.post_crisis_revisit_days
  and ((sv.survey_type = 'CSAT' and sv.score <= p.post_crisis_revisit_csat_max)
       or (sv.survey_type = 'NPS' and sv.score <= p.post_crisis_revisit_nps_max))
  and {{ uniform_draw(["x.customer_id", "'RL-10'", "x.crisis_event_id", "p.holdout_salt"]) }}
      < p.post_crisis_revisit_sample_rate

union all
select c.customer_id, 'RL-11', x.crisis_event_id, 'post_crisis_health_check'
from cust as c
cross join p
join lateral (
    select crisis_event_id from crisis
    where not is_active and days_since_resolved <= p.post_crisis_offer_window_days
    order by started_at desc, crisis_event_id limit 1
) as x on true
where c.is_crisis_sensitive

union all
select distinct on (x.customer_id) x.customer_id, 'RL-12', x.crisis_event_id, 'trust_repair'
from crisis as x
join cust as c on c.customer_id = x.customer_id
cross join p
where x.is_active
   or {{ run_date() }} < ({{ utc_date('x.resolved_at') }} + make_interval(months => p.care_content_duration_months))::date
