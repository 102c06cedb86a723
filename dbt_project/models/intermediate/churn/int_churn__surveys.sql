{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Survey family of the churn features (CF-09), per (customer_id, as_of_date) with an answer before the
    end of the as-of date: answers and CSAT over 365 days, the last CSAT / NPS score, dissatisfied answers to
    post-resolution revisits (macro survey_dissatisfied), the last answer. -#}
select
    s.customer_id,
    a.as_of_date,
    count(*) filter (where s.responded_at >= a.as_of_end - interval '365 days') as surveys_answered_365d,
    avg(s.score) filter (
        where s.survey_type = 'CSAT' and s.responded_at >= a.as_of_end - interval '365 days'
    ) as csat_mean_365d,
    (array_agg(s.score order by s.responded_at desc, s.survey_id desc)
        filter (where s.survey_type = 'CSAT' and s.score is not null))[1] as last_csat_score,
    (array_agg(s.score order by s.responded_at desc, s.survey_id desc)
        filter (where s.survey_type = 'NPS' and s.score is not null))[1] as last_nps_score,
    count(*) filter (
        where s.trigger_type = 'post_resolution_revisit'
          and s.responded_at >= a.as_of_end - interval '365 days'
          and {{ survey_dissatisfied('s', policy_param('csat_satisfied_min'), policy_param('nps_detractor_max')) }}
    ) as dissatisfied_after_revisit_365d,
    max(s.responded_at) as last_survey_at
from {{ ref('int_feedback__surveys_latest') }} as s
join {{ ref('int_churn__cutoffs') }} as a on s.responded_at < a.as_of_end
group by s.customer_id, a.as_of_date
