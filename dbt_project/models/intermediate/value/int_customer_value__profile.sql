{{ config(materialized='table', indexes=[{'columns': ['customer_id'], 'unique': true}]) }}
{#- Per customer registered by run_date, the non-monetary profile of the value mart:
      CV-11 emotional account balance: sum of int_activity__emotional_events weights up to run_date;
      CV-12 emotion profile: dominant emotion class of the customer's enriched texts in the last
            emotion_profile_window_days (ties: the latest), mean polarity, and satisfaction level
            from the latest answered survey (high: CSAT >= csat_satisfied_min / NPS >= nps_promoter_min;
            low: CSAT <= csat_dissatisfied_max / NPS <= nps_detractor_max; otherwise null; macro
            survey_verdict);
      CV-13 preferred channel: most used ticket channel in preference_window_days (ties: the latest);
            preferred language: customers.preferred_language, else the latest ticket / text language;
      CV-16 crisis exposure: latest crisis (by start) the customer is listed as affected by, started
            before the end of run_date; in_trust_repair_window when it started within
            trust_repair_window_months;
      CV-08 crisis_sensitive tag, rule CM-06 (complaints within crisis_sensitive_window_days, empty =
            lifetime, >= crisis_sensitive_min_complaints), computed here from staging with the same
            parameters and window (macro in_crisis_sensitive_window) as
            customer_complaints.is_crisis_sensitive (reading that mart would be a cycle: the complaint
            marts read value tiers from customer_value).
    Window filters read their parameter as a scalar subquery over `params` (macro policy_param). -#}
with params as (
    select
        {{ policy_param('emotion_profile_window_days', 'integer') }} as emotion_window_days,
        {{ policy_param('preference_window_days', 'integer') }} as preference_window_days,
        {{ policy_param('trust_repair_window_months', 'integer') }} as trust_repair_months,
        {{ policy_param('csat_satisfied_min') }} as csat_satisfied_min,
        {{ policy_param('csat_dissatisfied_max') }} as csat_dissatisfied_max,
        {{ policy_param('nps_promoter_min') }} as nps_promoter_min,
        {{ policy_param('nps_detractor_max') }} as nps_detractor_max,
        {{ policy_param('crisis_sensitive_min_complaints', 'integer') }} as sensitive_min_complaints,
        {{ policy_param('crisis_sensitive_window_days', 'integer') }} as sensitive_window_days
),

customers as (
    select customer_id, preferred_language
    from {{ ref('stg_crm__customers') }}
    where registered_at < {{ run_end() }}
),

balance as (
    select
        customer_id,
        sum(weight) as emotional_balance,
        coalesce(sum(weight) filter (where weight > 0), 0) as emotional_deposits,
        coalesce(-sum(weight) filter (where weight < 0), 0) as emotional_overdrafts
    from {{ ref('int_activity__emotional_events') }}
    group by customer_id
),

recent_texts as (
    select ts.*
    from {{ ref('int_activity__text_sentiment') }} as ts
    where ts.text_ts >= {{ run_end() }} - make_interval(days => (select emotion_window_days from params))
),

emotion_counts as (
    select
        customer_id,
        emotion_class,
        row_number() over (partition by customer_id order by count(*) desc, max(text_ts) desc, emotion_class) as emotion_rank
    from recent_texts
    where emotion_class is not null
    group by customer_id, emotion_class
),

emotion as (
    select
        r.customer_id,
        count(*) as texts_90d,
        avg(r.polarity_score) as sentiment_mean_90d,
        max(ec.emotion_class) as dominant_emotion_90d
    from recent_texts as r
    left join emotion_counts as ec on ec.customer_id = r.customer_id and ec.emotion_rank = 1
    group by r.customer_id
),

last_survey as (
    select distinct on (s.customer_id)
        s.customer_id,
        case {{ survey_verdict('s', 'p') }}
            when 'positive' then 'high'
            when 'negative' then 'low'
        end as satisfaction_level
    from {{ ref('int_feedback__surveys_latest') }} as s
    cross join params as p
    where s.responded_at < {{ run_end() }}
      and s.score is not null
    order by s.customer_id, s.responded_at desc, s.survey_id desc
),

ticket_channels as (
    select
        t.customer_id,
        t.ticket_channel,
        row_number() over (
            partition by t.customer_id order by count(*) desc, max(t.created_at) desc, t.ticket_channel
        ) as channel_rank
    from {{ ref('int_complaints__tickets_latest') }} as t
    where t.customer_id is not null
      and t.ticket_channel is not null
      and t.created_at < {{ run_end() }}
      and t.created_at >= {{ run_end() }} - make_interval(days => (select preference_window_days from params))
    group by t.customer_id, t.ticket_channel
),

text_languages as (
    select distinct on (customer_id) customer_id, language
    from (
        select customer_id, created_at as ts, language
        from {{ ref('int_complaints__tickets_latest') }}
        where customer_id is not null and nullif(language, '') is not null and created_at < {{ run_end() }}
        union all
        select customer_id, text_ts, language
        from {{ ref('int_activity__text_sentiment') }}
        where nullif(language, '') is not null
    ) as l
    order by customer_id, ts desc, language
),

exposures as (
    select distinct on (ac.customer_id)
        ac.customer_id,
        ce.crisis_event_id,
        ce.crisis_type,
        ce.started_at
    from {{ ref('stg_crm__crisis_affected_customers') }} as ac
    join {{ ref('stg_crm__crisis_events') }} as ce on ce.crisis_event_id = ac.crisis_event_id
    where ce.started_at < {{ run_end() }}
    order by ac.customer_id, ce.started_at desc, ce.crisis_event_id desc
),

complaints as (
    select t.customer_id, count(*) >= (select sensitive_min_complaints from params) as is_crisis_sensitive
    from {{ ref('int_complaints__tickets_latest') }} as t
    where t.customer_id is not null
      and t.ticket_type = 'complaint'
      and t.created_at < {{ run_end() }}
      and {{ in_crisis_sensitive_window('t.created_at', '(select sensitive_window_days from params)') }}
    group by t.customer_id
)

select
    c.customer_id,
    coalesce(b.emotional_balance, 0)::double precision as emotional_balance,
    coalesce(b.emotional_deposits, 0)::double precision as emotional_deposits,
    coalesce(b.emotional_overdrafts, 0)::double precision as emotional_overdrafts,
    e.dominant_emotion_90d,
    e.sentiment_mean_90d::double precision as sentiment_mean_90d,
    coalesce(e.texts_90d, 0)::integer as texts_90d,
    ls.satisfaction_level,
    tc.ticket_channel as preferred_channel,
    coalesce(nullif(c.preferred_language, ''), tl.language) as preferred_language,
    x.crisis_event_id is not null as affected_by_crisis,
    x.crisis_event_id as last_crisis_event_id,
    x.crisis_type as last_crisis_type,
    {{ run_date() }} - {{ utc_date('x.started_at') }} as days_since_crisis_exposure,
    coalesce(x.started_at >= {{ run_end() }} - make_interval(months => p.trust_repair_months), false)
        as in_trust_repair_window,
    coalesce(cc.is_crisis_sensitive, false) as is_crisis_sensitive
from customers as c
cross join params as p
left join balance as b on b.customer_id = c.customer_id
left join emotion as e on e.customer_id = c.customer_id
left join last_survey as ls on ls.customer_id = c.customer_id
left join ticket_channels as tc on tc.customer_id = c.customer_id and tc.channel_rank = 1
left join text_languages as tl on tl.customer_id = c.customer_id
left join exposures as x on x.customer_id = c.customer_id
left join complaints as cc on cc.customer_id = c.customer_id
