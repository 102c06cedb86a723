{#- Feature columns of the families added to the CF-01..CF-11 core (seed_spec 3.5: CF-02 / CF-14 purchase
    cycle and channel mix, CF-12 risk keywords, CF-13 / CF-20 interaction signals, CF-17 marketing, CF-18
    calendar), appended to churn_feature_columns(). Their families: int_churn__purchase_cycle,
    int_churn__channel_mix, int_churn__risk_keywords, int_churn__signals, int_churn__marketing,
    int_churn__calendar. -#}

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
