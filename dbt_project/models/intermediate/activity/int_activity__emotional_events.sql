{#- Emotional-account events (CV-11, seed_spec 3.3 / 003-6 body section 1), as of run_date: one row per
    "deposit" or "overdraft" with the time it became known, so the balance as of any cutoff is the sum
    of weights with event_ts before the cutoff (point-in-time; CF-07 reuses it). Event weights are policy
    parameters emotional_weight_* [D]. Events (landing contract only):
      complaint            ticket_type = complaint, at created_at
      sla_breach           first response later than churn_slow_response_frt_minutes (or none yet), at
                           created_at + that target: a proxy of the CM-03 effective target, which needs the
                           latest ticket state and so is not point-in-time
      resolved_within_sla  resolved with the first response within that target, at resolved_at
      compensation         a granted compensation, at issued_at
      positive_review /    an answered survey: CSAT >= csat_satisfied_min or NPS >= nps_promoter_min /
      negative_review      CSAT <= csat_dissatisfied_max or NPS <= nps_detractor_max (macro
                           survey_verdict); an unscored survey comment counts by its enrichment
                           polarity (ST-04) when enriched. -#}
with params as (
    select
        {{ policy_param('churn_slow_response_frt_minutes') }} as sla_minutes,
        {{ policy_param('csat_satisfied_min') }} as csat_satisfied_min,
        {{ policy_param('csat_dissatisfied_max') }} as csat_dissatisfied_max,
        {{ policy_param('nps_promoter_min') }} as nps_promoter_min,
        {{ policy_param('nps_detractor_max') }} as nps_detractor_max,
        {{ policy_param('emotional_weight_complaint') }} as w_complaint,
        {{ policy_param('emotional_weight_sla_breach') }} as w_sla_breach,
        {{ policy_param('emotional_weight_resolved_within_sla') }} as w_resolved,
        {{ policy_param('emotional_weight_compensation') }} as w_compensation,
        {{ policy_param('emotional_weight_positive_review') }} as w_positive,
        {{ policy_param('emotional_weight_negative_review') }} as w_negative
),

tickets as (
    select
        t.customer_id,
        t.ticket_type,
        t.created_at,
        t.first_response_at,
        t.resolved_at,
        t.created_at + make_interval(mins => p.sla_minutes::integer) as sla_due_at
    from {{ ref('int_complaints__tickets_latest') }} as t
    cross join params as p
    where t.customer_id is not null
),

survey_reviews as (
    select
        s.customer_id,
        s.responded_at as event_ts,
        -- a scored answer by its verdict, an unscored comment by its enrichment polarity
        case coalesce({{ survey_verdict('s', 'p') }}, case when s.score is null then ts.polarity end)
            when 'positive' then 'positive_review'
            when 'negative' then 'negative_review'
        end as event_code
    from {{ ref('int_feedback__surveys_latest') }} as s
    cross join params as p
    left join {{ ref('int_activity__text_sentiment') }} as ts
      on ts.source_table = 'surveys' and ts.source_id = s.survey_id
    where s.responded_at is not null
),

events as (
    select customer_id, created_at as event_ts, 'complaint' as event_code
    from tickets
    where ticket_type = 'complaint'

    union all

    select customer_id, sla_due_at, 'sla_breach'
    from tickets
    where first_response_at is null or first_response_at > sla_due_at

    union all

    select customer_id, resolved_at, 'resolved_within_sla'
    from tickets
    where resolved_at is not null and first_response_at <= sla_due_at

    union all

    select customer_id, issued_at, 'compensation'
    from {{ ref('stg_crm__compensations') }}

    union all

    select customer_id, event_ts, event_code
    from survey_reviews
    where event_code is not null
)

select
    e.customer_id,
    e.event_ts,
    e.event_code,
    (case e.event_code
        when 'complaint' then p.w_complaint
        when 'sla_breach' then p.w_sla_breach
        when 'resolved_within_sla' then p.w_resolved
        when 'compensation' then p.w_compensation
        when 'positive_review' then p.w_positive
        when 'negative_review' then p.w_negative
    end)::double precision as weight
from events as e
cross join params as p
where e.event_ts < {{ run_end() }}
