{{ config(materialized='table', indexes=[{'columns': ['customer_id'], 'unique': true}]) }}
{#- CV-10 emotional value score (CEV) per customer registered by run_date, over the last
    emotion_profile_window_days (the CV-12 window):
      emotion intensity   = mean signed polarity of the customer's labelled texts (int_activity__text_sentiment,
                            so only labels that passed the DQ-06 gate), rescaled from [-1, 1] to [0, 1];
      interaction frequency = customer contacts per week (tickets opened + surveys answered), capped at
                            cev_frequency_cap_per_week and rescaled to [0, 1];
      feedback quality    = share of those contacts that carry a labelled text;
      cev_score           = weighted mean of the three with weights cev_weight_intensity, cev_weight_frequency,
                            cev_weight_feedback (policy parameters; starter defaults, not business-approved);
      cev_cluster         = high if cev_score >= cev_high_min, low if < cev_low_max, else medium; null when
                            the customer has no labelled text in the window (no emotional evidence: with the
                            DQ-06 gate failing, every customer);
      emotional_engagement = contacts per week x share of the labelled texts that are positive (CV-10 [D]).
    Set-based: one pass per source, grouped by customer.
    Window filters read their parameter as a scalar subquery over `params` (macro policy_param). -#}
with params as (
    select
        {{ policy_param('emotion_profile_window_days', 'integer') }} as window_days,
        {{ policy_param('cev_weight_intensity') }} as w_intensity,
        {{ policy_param('cev_weight_frequency') }} as w_frequency,
        {{ policy_param('cev_weight_feedback') }} as w_feedback,
        {{ policy_param('cev_frequency_cap_per_week') }} as frequency_cap,
        {{ policy_param('cev_high_min') }} as high_min,
        {{ policy_param('cev_low_max') }} as low_max
),

customers as (
    select customer_id
    from {{ ref('stg_crm__customers') }}
    where registered_at < {{ run_end() }}
),

contacts as (
    select t.customer_id, count(distinct t.ticket_id) as contacts
    from {{ ref('stg_crm__tickets') }} as t
    where t.created_at < {{ run_end() }}
      and t.created_at >= {{ run_end() }} - make_interval(days => (select window_days from params))
    group by t.customer_id
    union all
    select s.customer_id, count(*) as contacts
    from {{ ref('int_feedback__surveys_latest') }} as s
    where s.responded_at < {{ run_end() }}
      and s.responded_at >= {{ run_end() }} - make_interval(days => (select window_days from params))
    group by s.customer_id
),

contacts_per_customer as (
    select customer_id, sum(contacts) as contacts
    from contacts
    group by customer_id
),

texts as (
    select
        ts.customer_id,
        count(*) as labelled_texts,
        avg(ts.polarity_score) as intensity,
        avg(case when ts.polarity = 'positive' then 1.0 else 0.0 end) as positive_share
    from {{ ref('int_activity__text_sentiment') }} as ts
    where ts.text_ts >= {{ run_end() }} - make_interval(days => (select window_days from params))
      and ts.polarity_score is not null
    group by ts.customer_id
),

scored as (
    select
        c.customer_id,
        coalesce(k.contacts, 0) * 7.0 / nullif(p.window_days, 0) as contacts_per_week,
        coalesce(t.labelled_texts, 0) as labelled_texts,
        t.intensity,
        t.positive_share,
        p.*
    from customers as c
    cross join params as p
    left join contacts_per_customer as k on k.customer_id = c.customer_id
    left join texts as t on t.customer_id = c.customer_id
),

components as (
    select
        customer_id,
        contacts_per_week,
        labelled_texts,
        (intensity + 1) / 2 as intensity_component,
        least(contacts_per_week / nullif(frequency_cap, 0), 1) as frequency_component,
        case
            when labelled_texts = 0 then null
            else least(labelled_texts / greatest(contacts_per_week * window_days / 7.0, labelled_texts), 1)
        end as feedback_component,
        contacts_per_week * positive_share as emotional_engagement,
        w_intensity, w_frequency, w_feedback, high_min, low_max
    from scored
),

cev as (
    select
        *,
        (w_intensity * intensity_component + w_frequency * frequency_component + w_feedback * feedback_component)
            / nullif(w_intensity + w_frequency + w_feedback, 0) as cev_score
    from components
)

select
    customer_id,
    round(contacts_per_week::numeric, 4)::double precision as contacts_per_week_90d,
    labelled_texts::integer as labelled_texts_90d,
    round(intensity_component::numeric, 4)::double precision as cev_intensity,
    round(frequency_component::numeric, 4)::double precision as cev_frequency,
    round(feedback_component::numeric, 4)::double precision as cev_feedback_quality,
    round(cev_score::numeric, 4)::double precision as cev_score,
    case
        when cev_score is null then null
        when cev_score >= high_min then 'high'
        when cev_score < low_max then 'low'
        else 'medium'
    end as cev_cluster,
    round(emotional_engagement::numeric, 4)::double precision as emotional_engagement
from cev
