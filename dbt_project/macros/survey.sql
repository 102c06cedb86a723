{% macro survey_verdict(survey='s', params='p') -%}
{#- The verdict of one survey answer (seed_spec 7, CSAT % and NPS): 'positive' for a satisfied CSAT
    (score >= csat_satisfied_min) or a promoter NPS (>= nps_promoter_min), 'negative' for a dissatisfied
    CSAT (<= csat_dissatisfied_max) or a detractor NPS (<= nps_detractor_max), null otherwise (a neutral or
    unscored answer, another survey type, an unset threshold). Written once for the emotional account
    (CV-11 reviews), the satisfaction level (CV-12) and the survey trend (RP-02); each caller maps the
    verdict to its own words. `survey` is the alias of a relation with survey_type and score, `params` the
    alias of the caller's one-row params CTE holding the four parameters under their own names. -#}
case
            when {{ survey }}.survey_type = 'CSAT' and {{ survey }}.score >= {{ params }}.csat_satisfied_min then 'positive'
            when {{ survey }}.survey_type = 'NPS' and {{ survey }}.score >= {{ params }}.nps_promoter_min then 'positive'
            when {{ survey }}.survey_type = 'CSAT' and {{ survey }}.score <= {{ params }}.csat_dissatisfied_max then 'negative'
            when {{ survey }}.survey_type = 'NPS' and {{ survey }}.score <= {{ params }}.nps_detractor_max then 'negative'
        end
{%- endmacro %}

{% macro survey_dissatisfied(survey='s', csat_satisfied_min='p.csat_satisfied_min', nps_detractor_max='p.nps_detractor_max') -%}
{#- A dissatisfied answer (a "bad review"): a CSAT below csat_satisfied_min (not satisfied: a neutral CSAT
    counts) or a detractor NPS (<= nps_detractor_max; a passive NPS does not). Wider than survey_verdict's
    'negative' on purpose: it is the CF-09 churn signal (dissatisfied after a revisit) and the AL-03
    bad-review rate, one rule for both. The thresholds are SQL expressions: the caller's params columns, or
    policy_param calls. -#}
(({{ survey }}.survey_type = 'CSAT' and {{ survey }}.score < {{ csat_satisfied_min }})
               or ({{ survey }}.survey_type = 'NPS' and {{ survey }}.score <= {{ nps_detractor_max }}))
{%- endmacro %}
