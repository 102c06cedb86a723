{#- RFM quintiles and the revenue rank (CV-01, CV-04), written once for the value mart
    (int_customer_value__ranked: active customers as of run_date) and the churn features
    (int_churn__value: every customer registered at each as-of date). 5 = best; ties broken by the id,
    so the scores are deterministic. `partition_by`: an expression ranking each group apart (as_of_date). -#}
{% macro rfm_ranks(id, recency, frequency, monetary, partition_by=none) -%}
    {%- set over = ('partition by ' ~ partition_by ~ ' ') if partition_by else '' -%}
    ntile(5) over ({{ over }}order by {{ recency }} desc nulls first, {{ id }} desc) as r_score,
    ntile(5) over ({{ over }}order by {{ frequency }}, {{ id }} desc) as f_score,
    ntile(5) over ({{ over }}order by {{ monetary }}, {{ id }} desc) as m_score,
    percent_rank() over ({{ over }}order by {{ monetary }} desc, {{ id }}) as revenue_rank_pct
{%- endmacro %}
