{#- The lifetime activity aggregates of a set of customer-days (int_activity__customer_days rows aliased
    `d`), written once for the two places that compute them: int_activity__customer_lifetime (every day up
    to the run date, incremental by customer) and the per-cutoff buckets of int_churn__activity (the
    training cutoffs before the run date). -#}
{% macro activity_lifetime_aggregates(d) -%}
    sum({{ d }}.paid_orders) as paid_orders,
        max({{ d }}.activity_date) filter (where {{ d }}.paid_orders > 0) as last_order_date,
        max({{ d }}.activity_date) filter (where {{ d }}.logins > 0) as last_login_date,
        max({{ d }}.activity_date) as last_activity_date
{%- endmacro %}

{#- Whether this dbt invocation builds the training snapshots (churn_training_set selected: selector
    training_snapshots, or a whole-project build), i.e. whether int_churn__cutoffs holds training cutoffs
    before the run date besides the run date itself. Decided once here for int_churn__cutoffs (which
    cutoffs) and int_churn__activity (whether the per-cutoff history paths are compiled in at all: a nightly
    build has only the run date, whose whole-history values come from int_activity__customer_lifetime). -#}
{% macro churn_with_training_cutoffs() -%}
    {{ return('model.crm.churn_training_set' in (selected_resources or [])) }}
{%- endmacro %}

{#- CF-02 / CF-14 per purchase day (rows of int_activity__customer_days aliased `d` with paid_orders > 0;
    several orders on one day are one purchase): the gap in days since the previous purchase day and the
    day's amount against the mean and spread of the customer's earlier purchase days. Depends only on the
    customer's purchase days up to that day, so a subset of days ending at a cutoff gives the same values.
    Written once for int_activity__customer_lifetime (every day up to the run date) and
    int_churn__purchase_cycle (the training cutoffs before it). -#}
{% macro purchase_day_measures(d) -%}
    {{ d }}.activity_date - lag({{ d }}.activity_date) over (
            partition by {{ d }}.customer_id order by {{ d }}.activity_date) as gap_days,
        ({{ d }}.paid_revenue - avg({{ d }}.paid_revenue) over (
            partition by {{ d }}.customer_id order by {{ d }}.activity_date
            rows between unbounded preceding and 1 preceding))
            / nullif(stddev_samp({{ d }}.paid_revenue) over (
                partition by {{ d }}.customer_id order by {{ d }}.activity_date
                rows between unbounded preceding and 1 preceding), 0) as amount_z
{%- endmacro %}

{#- The purchase-cycle aggregates of int_churn__purchase_cycle over purchase days `pd` (columns
    activity_date, gap_days, amount_z of purchase_day_measures), for the same two places. -#}
{% macro purchase_cycle_aggregates(pd) -%}
    count(*) as purchase_days_lifetime,
        min({{ pd }}.activity_date) as first_purchase_date,
        avg({{ pd }}.gap_days)::double precision as gap_mean_days,
        stddev_samp({{ pd }}.gap_days)::double precision as gap_sd_days,
        max({{ pd }}.gap_days) as gap_max_days,
        (array_agg({{ pd }}.gap_days order by {{ pd }}.activity_date desc))[1] as last_gap_days,
        (array_agg({{ pd }}.amount_z order by {{ pd }}.activity_date desc))[1] as purchase_amount_z_last
{%- endmacro %}
