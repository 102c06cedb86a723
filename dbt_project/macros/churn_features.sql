{#- The churn feature columns (seed_spec 3.5), in the order of marts.churn_features and
    marts.churn_training_set: the interface to the model code (crm_scoring.model reads these names; the
    feature catalogue words them). All numeric, flags are 0/1 integers. Each feature is computed by one
    family model (models/intermediate/churn/int_churn__<family>.sql) and finished in int_churn__features.
    A new feature: its family model, its line in int_churn__features, its name here (or in
    churn_family_columns()), then retrain. -#}

{% macro churn_feature_columns() -%}
    {{ return([
        'tenure_days', 'days_inactive', 'recency_days',
        'orders_30d', 'orders_90d', 'orders_365d', 'orders_lifetime',
        'revenue_30d', 'revenue_90d', 'revenue_365d', 'avg_order_value_365d',
        'r_score', 'f_score', 'm_score', 'is_high_value',
        'orders_prior_90d', 'revenue_prior_90d', 'frequency_trend_90d', 'monetary_trend_90d',
        'median_purchase_cycle_days', 'cycle_overdue_ratio',
        'logins_7d', 'logins_30d', 'logins_90d',
        'current_no_login_streak_days', 'flag_no_login_streak', 'longest_no_login_streak_30d',
        'flag_silence_day7', 'flag_inactive_90',
        'app_events_7d', 'app_events_30d', 'app_events_90d', 'activity_trend_30_vs_prior_60',
        'visit_days_30d', 'visit_trend_30_vs_prior_90', 'login_trend_30_vs_prior_90',
        'complaints_30d', 'complaints_90d', 'complaints_365d', 'complaints_lifetime', 'complaint_growth_90d',
        'technical_complaints_90d', 'is_crisis_sensitive', 'high_value_x_technical_complaint',
        'open_complaints', 'days_since_last_complaint',
        'tickets_90d', 'open_tickets', 'slow_responses_90d', 'mean_frt_minutes_90d', 'mean_ttr_hours_90d',
        'reopened_tickets_90d',
        'sentiment_mean_30d', 'sentiment_mean_90d', 'negative_share_90d', 'angry_count_90d',
        'sentiment_trend_90d', 'sentiment_volatility_90d', 'texts_90d', 'last_polarity_score',
        'emotional_balance',
        'surveys_answered_365d', 'csat_mean_365d', 'last_csat_score', 'last_nps_score', 'last_nps_detractor',
        'dissatisfied_after_revisit_365d', 'days_since_last_survey',
        'compensations_365d', 'compensation_amount_365d', 'second_round_compensations_365d',
        'mean_hours_to_compensation_365d',
        'crisis_affected', 'crisis_exposures', 'days_since_crisis_exposure', 'in_trust_repair_window'
    ] + churn_family_columns()) }}
{%- endmacro %}
