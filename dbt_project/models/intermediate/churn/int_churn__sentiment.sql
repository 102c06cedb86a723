{{ config(materialized='table', indexes=[{'columns': ['customer_id', 'as_of_date'], 'unique': true}]) }}
{#- Sentiment family of the churn features (CF-07): the enrichment's polarity of the customer's ticket texts
    and survey comments over the 90 days before the end of the as-of date (means, negative share, angry
    count, trend, volatility, last score), per (customer_id, as_of_date) with a text in that window. -#}
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
