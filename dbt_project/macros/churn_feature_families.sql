{#- Churn feature families added to the CF-01..CF-11 core of `churn_features` (seed_spec 3.5), one macro
    per family. Each returns the body of a CTE keyed by (customer_id, as_of_date) and may use the CTEs
    `as_of` (as_of_date, as_of_end) and `feature_params` of the calling macro. Point in time like the core:
    only rows strictly before as_of_end (the end of the as-of day, UTC) are read. Customers without any
    row of a family get 0 / NULL in the mart (left joins). Thresholds and word lists are policy parameters.
    Columns each family adds to the mart: `churn_family_columns()`. -#}

{% macro churn_family_columns() -%}
    {{ return([
        'purchase_days_lifetime', 'days_since_first_purchase', 'gap_mean_days', 'gap_sd_days', 'gap_max_days',
        'last_gap_days', 'recency_vs_mean_gap', 'recency_vs_max_gap', 'purchase_days_per_30d',
        'purchase_amount_z_last', 'frequency_z_90d', 'channel_mix_change_90d',
        'risk_keyword_messages_30d',
        'return_policy_views_7d', 'return_policy_views_30d',
        'marketing_contacts_30d', 'marketing_open_rate_90d', 'marketing_response_rate_90d', 'marketing_opted_out',
        'in_crisis_period',
        'failed_login_share_30d', 'failed_login_share_change_30d'
    ]) }}
{%- endmacro %}

{#- CF-02 / CF-14 purchase cycle and deviation from the customer's own baseline, per purchase day
    (several orders on one day are one purchase): inter-purchase gaps and the amount of each purchase day
    against the mean and spread of the customer's earlier purchase days. `days` = the calling macro's
    int_activity__customer_days. -#}
{% macro churn_purchase_day_rows() -%}
    select
        d.customer_id,
        d.activity_date,
        d.paid_revenue::double precision as amount,
        d.activity_date - lag(d.activity_date) over w as gap_days,
        (d.paid_revenue - avg(d.paid_revenue) over w_before)
            / nullif(stddev_samp(d.paid_revenue) over w_before, 0) as amount_z
    from days as d
    where d.paid_orders > 0
    window w as (partition by d.customer_id order by d.activity_date),
           w_before as (partition by d.customer_id order by d.activity_date
                        rows between unbounded preceding and 1 preceding)
{%- endmacro %}

{% macro churn_purchase_cycle_family() -%}
    select
        pd.customer_id,
        a.as_of_date,
        count(*) as purchase_days_lifetime,
        min(pd.activity_date) as first_purchase_date,
        avg(pd.gap_days)::double precision as gap_mean_days,
        stddev_samp(pd.gap_days)::double precision as gap_sd_days,
        max(pd.gap_days) as gap_max_days,
        (array_agg(pd.gap_days order by pd.activity_date desc))[1] as last_gap_days,
        (array_agg(pd.amount_z order by pd.activity_date desc))[1] as purchase_amount_z_last
    from purchase_days as pd
    join as_of as a on pd.activity_date <= a.as_of_date
    group by pd.customer_id, a.as_of_date
{%- endmacro %}

{#- CF-14 change in channel mix: total variation distance between the channel shares of paid orders in the
    last 90 days and in the 275 days before (0 = same mix, 1 = disjoint); NULL without orders in both. -#}
{% macro churn_channel_mix_family() -%}
    select
        cc.customer_id,
        cc.as_of_date,
        0.5 * sum(abs(cc.recent::double precision / cc.recent_total - cc.prior::double precision / cc.prior_total))
            as channel_mix_change_90d
    from (
        select
            c.*,
            sum(c.recent) over (partition by c.customer_id, c.as_of_date) as recent_total,
            sum(c.prior) over (partition by c.customer_id, c.as_of_date) as prior_total
        from (
            select
                o.customer_id,
                a.as_of_date,
                coalesce(o.order_channel, 'unknown') as channel,
                count(*) filter (where o.order_ts >= a.as_of_end - interval '90 days') as recent,
                count(*) filter (where o.order_ts < a.as_of_end - interval '90 days') as prior
            from {{ ref('fct_orders') }} as o
            join as_of as a
              on o.order_ts < a.as_of_end
             and o.order_ts >= a.as_of_end - interval '365 days'
            where o.order_status <> 'cancelled'
            group by o.customer_id, a.as_of_date, coalesce(o.order_channel, 'unknown')
        ) as c
    ) as cc
    where cc.recent_total > 0 and cc.prior_total > 0
    group by cc.customer_id, cc.as_of_date
{%- endmacro %}

{#- CF-12 risk keywords in the customer's own messages over 30 days: texts (ticket texts, survey comments)
    where the enrichment task found a keyword of the `risk` list of the keyword_lists seed (one source for
    the list: the enrichment's matcher; no sentiment gate, a keyword match does not depend on the model).
    Without the enrichment (customers + orders only) the count is 0. -#}
{% macro churn_risk_keyword_family() -%}
    select t.customer_id, a.as_of_date, count(*) as risk_keyword_messages_30d
    from {{ ref('stg_enrichment__text_sentiment') }} as t
    join as_of as a
      on t.text_ts < a.as_of_end
     and t.text_ts >= a.as_of_end - interval '30 days'
    where t.customer_id is not null
      and t.has_risk_keyword
    group by t.customer_id, a.as_of_date
{%- endmacro %}

{#- CF-13 return-policy page views (7 / 30 days) and CF-20 security signal: share of failed logins among
    login attempts over 30 days, and its change against the 90 days before (NULL without attempts). -#}
{% macro churn_interaction_signal_family() -%}
    select
        i.customer_id,
        a.as_of_date,
        count(*) filter (
            where i.event_type = 'page_view' and i.page_type = 'return_policy'
              and i.event_ts >= a.as_of_end - interval '7 days'
        ) as return_policy_views_7d,
        count(*) filter (
            where i.event_type = 'page_view' and i.page_type = 'return_policy'
              and i.event_ts >= a.as_of_end - interval '30 days'
        ) as return_policy_views_30d,
        avg(case when i.event_type = 'login_failed' then 1.0 else 0.0 end) filter (
            where i.event_type in ('login', 'login_failed') and i.event_ts >= a.as_of_end - interval '30 days'
        ) as failed_login_share_30d,
        avg(case when i.event_type = 'login_failed' then 1.0 else 0.0 end) filter (
            where i.event_type in ('login', 'login_failed') and i.event_ts < a.as_of_end - interval '30 days'
        ) as failed_login_share_prior_90d
    from {{ ref('fct_interactions') }} as i
    join as_of as a
      on i.event_ts < a.as_of_end
     and i.event_ts >= a.as_of_end - interval '120 days'
    where i.event_type in ('page_view', 'login', 'login_failed')
    group by i.customer_id, a.as_of_date
{%- endmacro %}

{#- CF-17 marketing engagement: marketing contacts received in 30 days; over 90 days the share opened
    (opened / responded / accepted) and responded (responded / accepted) among contacts with an outcome;
    opted out of marketing ever. Only purpose = marketing: retention contacts follow the churn score
    itself, and learning from them would feed the model its own decisions. -#}
{% macro churn_marketing_family() -%}
    select
        c.customer_id,
        a.as_of_date,
        count(*) filter (where c.contact_ts >= a.as_of_end - interval '30 days') as marketing_contacts_30d,
        avg(case when c.outcome in ('opened', 'responded', 'accepted') then 1.0 else 0.0 end) filter (
            where c.outcome is not null and c.contact_ts >= a.as_of_end - interval '90 days'
        ) as marketing_open_rate_90d,
        avg(case when c.outcome in ('responded', 'accepted') then 1.0 else 0.0 end) filter (
            where c.outcome is not null and c.contact_ts >= a.as_of_end - interval '90 days'
        ) as marketing_response_rate_90d,
        max(case when c.outcome = 'opted_out' then 1 else 0 end) as marketing_opted_out
    from {{ ref('stg_crm__contacts') }} as c
    join as_of as a on c.contact_ts < a.as_of_end
    where c.purpose = 'marketing'
    group by c.customer_id, a.as_of_date
{%- endmacro %}

{#- CF-18 calendar context: a crisis of any kind is under way at the as-of date (started before its end,
    not resolved by then), the same for every customer. Days to the next holiday would need a calendar
    input the landing contract does not carry. -#}
{% macro churn_calendar_family() -%}
    select
        a.as_of_date,
        max(case when ce.crisis_event_id is not null then 1 else 0 end) as in_crisis_period
    from as_of as a
    left join {{ ref('stg_crm__crisis_events') }} as ce
      on ce.started_at < a.as_of_end
     and (ce.resolved_at is null or ce.resolved_at >= a.as_of_end)
    group by a.as_of_date
{%- endmacro %}
