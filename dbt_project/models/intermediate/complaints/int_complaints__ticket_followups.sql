{#- CM-12 post-closure survey tracking, one row per ticket that has a related survey (related_ticket_id):
    the first CSAT survey, and the first post-resolution revisit (NPS) with its score and the polarity of
    its comment (enrichment, source_table = surveys). fct_tickets turns these into the 24 h / 7 d flags. -#}
with surveys as (
    select s.*, e.polarity as comment_polarity
    from {{ ref('int_feedback__surveys_latest') }} as s
    left join {{ ref('stg_enrichment__text_sentiment') }} as e
      on e.source_table = 'surveys' and e.source_id = s.survey_id
    where s.related_ticket_id is not null
      and s.sent_at < {{ run_end() }}
),

csat as (
    select distinct on (related_ticket_id)
        related_ticket_id as ticket_id, sent_at as csat_sent_at, score as csat_score
    from surveys
    where survey_type = 'CSAT'
    order by related_ticket_id, sent_at, survey_id
),

revisit as (
    select distinct on (related_ticket_id)
        related_ticket_id as ticket_id,
        sent_at as revisit_sent_at,
        case when responded_at < {{ run_end() }} then responded_at end as revisit_responded_at,
        case when responded_at < {{ run_end() }} then score end as revisit_score,
        case when responded_at < {{ run_end() }} then comment_polarity end as revisit_comment_polarity
    from surveys
    where trigger_type = 'post_resolution_revisit'
    order by related_ticket_id, sent_at, survey_id
)

select
    coalesce(c.ticket_id, r.ticket_id) as ticket_id,
    c.csat_sent_at,
    c.csat_score,
    r.revisit_sent_at,
    r.revisit_responded_at,
    r.revisit_score,
    r.revisit_comment_polarity
from csat as c
full join revisit as r on r.ticket_id = c.ticket_id
