{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Text families of the churn features (CF-07 sentiment over the last 90 days from the enrichment's
    polarity of ticket texts and survey comments; CV-11 emotional balance: the sum of every emotional
    deposit / overdraft before the end of the as-of date), per (customer_id, as_of_date) with either. -#}
with sentiment as (
    select
        s.customer_id,
        a.as_of_date,
        avg(s.polarity_score) filter (where s.text_ts >= a.as_of_end - interval '30 days') as sentiment_mean_30d,
        avg(s.polarity_score) as sentiment_mean_90d,
        avg(case when s.polarity = 'negative' then 1.0 else 0.0 end) filter (where s.polarity is not null) as negative_share_90d,
        count(*) filter (where s.emotion_class = 'angry') as angry_count_90d,
        regr_slope(s.polarity_score, extract(epoch from s.text_ts) / 86400.0) as sentiment_trend_90d,
        stddev_samp(s.polarity_score) as sentiment_volatility_90d,
        count(*) as texts_90d,
        (array_agg(s.polarity_score order by s.text_ts desc, s.source_id desc)
            filter (where s.polarity_score is not null))[1] as last_polarity_score
    from {{ ref('int_activity__text_sentiment') }} as s
    join {{ ref('int_churn__cutoffs') }} as a
      on s.text_ts < a.as_of_end
     and s.text_ts >= a.as_of_end - interval '90 days'
    group by s.customer_id, a.as_of_date
),

emotional as (
    select e.customer_id, a.as_of_date, sum(e.weight) as emotional_balance
    from {{ ref('int_activity__emotional_events') }} as e
    join {{ ref('int_churn__cutoffs') }} as a on e.event_ts < a.as_of_end
    group by e.customer_id, a.as_of_date
)

select
    coalesce(s.customer_id, e.customer_id) as customer_id,
    coalesce(s.as_of_date, e.as_of_date) as as_of_date,
    s.sentiment_mean_30d,
    s.sentiment_mean_90d,
    s.negative_share_90d,
    s.angry_count_90d,
    s.sentiment_trend_90d,
    s.sentiment_volatility_90d,
    s.texts_90d,
    s.last_polarity_score,
    e.emotional_balance
from sentiment as s
full join emotional as e on e.customer_id = s.customer_id and e.as_of_date = s.as_of_date
