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
