{{ config(tags=['alerts']) }}
{#- Feedback-health metrics of the run date, one row per (alert_code, scope), before any threshold
    (seed_spec 3.9): the alert levels are applied by int_alerts__evaluated from the alert_rules seed.
    Windows end at the end of the run date. Share / rate metrics need alert_min_scope_items items.
    AL-01 negative share of classified texts (tickets + survey comments, enrichment polarity) in the
      last neg_share_window_hours: overall, per ticket channel and per module.
    AL-02 negative count in that window / mean count per window over the neg_volume_baseline_days before.
    AL-03 bad-review rate change vs the previous day [D]; bad review = answered survey with CSAT below
      csat_satisfied_min or NPS <= nps_detractor_max (macro survey_dissatisfied; no review feed in the
      landing contract).
    AL-05 complaints today / daily baseline (all modules); AL-06 the same per module (CM-14).
    AL-08 T1 complaints created today or still unacknowledged; AL-09 FRT compliance of today's tickets;
    AL-10 complaint-escalation risk points per customer; AL-12 risk-keyword texts in the window (the keyword
    flag does not depend on the sentiment model, so AL-12 also counts texts whose labels the DQ-06 gate
    withheld; AL-01 / AL-02 count classified texts only).
    AL-14 model monitoring: the backtests evaluated on the run date (marts.model_performance), metric
    roc_auc (red level: below model_min_auc) and roc_auc_drop (yellow level: above model_max_auc_drop). -#}
with params as (
    select
        {{ policy_param('neg_share_window_hours') }} as window_hours,
        {{ policy_param('neg_volume_baseline_days') }} as baseline_days,
        {{ policy_param('alert_min_scope_items') }} as min_items,
        {{ policy_param('csat_satisfied_min') }} as csat_satisfied_min,
        {{ policy_param('nps_detractor_max') }} as nps_detractor_max
),

bounds as (
    select
        {{ run_end() }} - make_interval(hours => p.window_hours::integer) as window_start,
        {{ run_end() }} - make_interval(hours => p.window_hours::integer)
            - make_interval(days => p.baseline_days::integer) as baseline_start
    from params as p
),

tickets as (
    select *
    from {{ ref('fct_tickets') }}
    where run_date = {{ run_date() }}
),

texts as (
    select
        e.source_table,
        e.source_id,
        e.polarity,
        e.has_risk_keyword,
        e.text_ts >= b.window_start as in_window,
        t.channel,
        t.module_l2
    from {{ ref('stg_enrichment__text_sentiment') }} as e
    cross join bounds as b
    left join tickets as t on e.source_table = 'tickets' and t.ticket_id = e.source_id
    where e.text_ts < {{ run_end() }}
      and e.text_ts >= b.baseline_start
),

text_scopes as (
    select s.scope, x.*
    from texts as x
    cross join lateral (
        values ('all'), ('channel:' || x.channel), ('module:' || x.module_l2)
    ) as s (scope)
    where s.scope is not null
      and x.polarity is not null
),

text_counts as (
    select
        scope,
        count(*) filter (where in_window) as window_items,
        count(*) filter (where in_window and polarity = 'negative') as window_negative,
        count(*) filter (where not in_window and polarity = 'negative') as baseline_negative
    from text_scopes
    group by scope
),

al01 as (
    select 'AL-01' as alert_code, c.scope,
           c.window_negative::double precision / c.window_items as metric_value,
           c.window_items as items
    from text_counts as c
    cross join params as p
    where c.window_items >= p.min_items
),

al02 as (
    select 'AL-02' as alert_code, c.scope,
           c.window_negative / (c.baseline_negative::double precision / p.baseline_days) as metric_value,
           c.window_negative as items
    from text_counts as c
    cross join params as p
    where c.scope not like 'module:%'
      and c.baseline_negative > 0
      and c.window_negative >= p.min_items
),

survey_days as (
    select
        {{ utc_date('s.responded_at') }} as day,
        count(*) as answered,
        count(*) filter (where {{ survey_dissatisfied('s') }}) as bad
    from {{ ref('int_feedback__surveys_latest') }} as s
    cross join params as p
    where s.score is not null
      and s.responded_at < {{ run_end() }}
      and s.responded_at >= {{ day_end(run_date() ~ ' - 2') }}
    group by 1
),

al03 as (
    select 'AL-03' as alert_code, 'all' as scope,
           (d.bad::double precision / d.answered) / (prev.bad::double precision / prev.answered) - 1 as metric_value,
           d.answered as items
    from survey_days as d
    join survey_days as prev on prev.day = d.day - 1
    cross join params as p
    where d.day = {{ run_date() }}
      and d.answered >= p.min_items
      and prev.answered >= p.min_items
      and prev.bad > 0
),

al05_06 as (
    select
        case when c.module_l2 = 'all' then 'AL-05' else 'AL-06' end as alert_code,
        case when c.module_l2 = 'all' then 'all' else 'module:' || c.module_l2 end as scope,
        c.concentration_ratio as metric_value,
        c.complaints_today as items
    from {{ ref('complaint_concentration_daily') }} as c
    cross join params as p
    where c.run_date = {{ run_date() }}
      and c.concentration_ratio is not null
      and (c.module_l2 = 'all' or c.complaints_today >= p.min_items)
),

al08 as (
    select 'AL-08' as alert_code, 'ticket:' || t.ticket_id as scope,
           coalesce(t.frt_minutes, {{ minutes_between('t.created_at', run_end()) }})::double precision as metric_value,
           1::bigint as items
    from tickets as t
    where t.is_complaint
      and t.customer_tier = 'T1_DIAMOND'
      and (t.created_on = {{ run_date() }} or (t.is_open and t.first_response_at is null))
),

al09 as (
    select 'AL-09' as alert_code, 'all' as scope,
           sum(c.met)::double precision / nullif(sum(c.met) + sum(c.breached), 0) as metric_value,
           sum(c.met) + sum(c.breached) as items
    from {{ ref('sla_compliance_daily') }} as c
    where c.run_date = {{ run_date() }}
      and c.day = {{ run_date() }}
      and c.metric = 'first_response'
    having sum(c.met) + sum(c.breached) > 0
),

al10 as (
    select 'AL-10' as alert_code, 'customer:' || c.customer_id as scope,
           (c.is_crisis_sensitive::integer + 1 + (c.open_high_risk_emotion_complaints > 0)::integer)::double precision as metric_value,
           c.open_complaints::bigint as items
    from {{ ref('customer_complaints') }} as c
    where c.run_date = {{ run_date() }}
      and c.open_complaints > 0
),

al12 as (
    select 'AL-12' as alert_code, x.source_table || ':' || x.source_id as scope,
           1::double precision as metric_value, 1::bigint as items
    from texts as x
    where x.in_window and x.has_risk_keyword
),

-- AL-14 model monitoring (CH-07): backtests evaluated tonight, two metrics per (version, cutoff); the
-- rule level is chosen by metric (roc_auc -> red below model_min_auc, roc_auc_drop -> yellow).
al14 as (
    select 'AL-14' as alert_code,
           'model:' || b.model_name || ':v' || b.model_version || ':' || b.as_of_date || ':' || x.metric as scope,
           x.metric,
           x.metric_value,
           b.rows_evaluated::bigint as items
    from {{ ref('model_performance') }} as b
    cross join lateral (
        values ('roc_auc', b.roc_auc), ('roc_auc_drop', b.roc_auc_drop)
    ) as x (metric, metric_value)
    where b.evaluated_on = {{ run_date() }}
      and x.metric_value is not null
)

select alert_code, scope, null::text as metric, metric_value, items::bigint as items from al01
union all select alert_code, scope, null::text, metric_value, items::bigint from al02
union all select alert_code, scope, null::text, metric_value, items::bigint from al03
union all select alert_code, scope, null::text, metric_value, items::bigint from al05_06
union all select alert_code, scope, null::text, metric_value, items::bigint from al08
union all select alert_code, scope, null::text, metric_value, items::bigint from al09
union all select alert_code, scope, null::text, metric_value, items::bigint from al10
union all select alert_code, scope, null::text, metric_value, items::bigint from al12
union all select alert_code, scope, metric, metric_value, items from al14
