{#- Customer-linked text sentiment (ST-04 output of the enrichment task, via stg_enrichment__text_sentiment),
    as of run_date: one row per enriched ticket text / survey comment with a customer, text_ts before the
    end of run_date and a polarity label. Feeds CV-11 / CV-12 (customer_value) and CF-07 (churn features).
    DQ-06 gate: rows flagged quality_gate_passed = false are not used. The enrichment is optional input:
    without it (task not run, customers+orders-only data) this view is empty and every sentiment feature
    degrades to null / 0. -#}
select
    source_table,
    source_id,
    customer_id,
    text_ts,
    polarity,
    polarity_score::double precision as polarity_score,
    emotion_class,
    language
from {{ ref('stg_enrichment__text_sentiment') }}
where customer_id is not null
  and text_ts < {{ run_end() }}
  and coalesce(quality_gate_passed, true)
  and (polarity is not null or polarity_score is not null or emotion_class is not null)
