{#- RP-02 CSAT and NPS trend with a drill-down by region: per response day (UTC), survey type and the
    customer's region, the responses with a score and the shares the two scores are read by: CSAT
    satisfied (score >= csat_satisfied_min) and dissatisfied (<= csat_dissatisfied_max); NPS promoters
    (>= nps_promoter_min) and detractors (<= nps_detractor_max), NPS = 100 x (promoters - detractors) /
    responses (macro survey_verdict: positive / negative). Every response up to the run date, restated
    each run (a late export or a corrected score changes earlier days). Product line: a survey carries no
    product, so there is no product drill-down. -#}
with params as (
    select
        {{ policy_param('csat_satisfied_min') }} as csat_satisfied_min,
        {{ policy_param('csat_dissatisfied_max') }} as csat_dissatisfied_max,
        {{ policy_param('nps_promoter_min') }} as nps_promoter_min,
        {{ policy_param('nps_detractor_max') }} as nps_detractor_max
),

responses as (
    select
        {{ utc_date('s.responded_at') }} as responded_on,
        s.survey_type,
        coalesce(c.region, 'unknown') as region,
        s.score,
        {{ survey_verdict('s', 'p') }} as verdict
    from {{ ref('int_feedback__surveys_latest') }} as s
    cross join params as p
    left join {{ ref('stg_crm__customers') }} as c on c.customer_id = s.customer_id
    where s.responded_at < {{ run_end() }}
      and s.score is not null
      and s.survey_type in ('CSAT', 'NPS')
)

select
    {{ run_date() }} as run_date,
    r.responded_on,
    r.survey_type,
    r.region,
    count(*) as responses,
    avg(r.score)::double precision as mean_score,
    count(*) filter (where r.survey_type = 'CSAT' and r.verdict = 'positive') as satisfied,
    count(*) filter (where r.survey_type = 'CSAT' and r.verdict = 'negative') as dissatisfied,
    count(*) filter (where r.survey_type = 'NPS' and r.verdict = 'positive') as promoters,
    count(*) filter (where r.survey_type = 'NPS' and r.verdict = 'negative') as detractors,
    {{ policy_version() }} as policy_version
from responses as r
group by r.responded_on, r.survey_type, r.region
