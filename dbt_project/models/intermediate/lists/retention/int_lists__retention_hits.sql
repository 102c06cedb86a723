{{ config(tags=["lists"], materialized="table") }}
{#- Every retention rule hit on var('run_date'): the five rule families' views (activity, churn, crisis,
    emotion, lifecycle; one row per customer and rule, each family with its own dbt unit tests) in one
    table, analysed after its build (the project's post-hook analyze_this).
    Why a table: the families are views, and a view carries no statistics. retention_candidates joins the
    hits with the channel options and the consent rows (1.5M and 3.6M rows at 300,000 customers), and the
    planner estimated 3,511 hits where there were 279,775 (docs/scaling.md, session 19). Planned on such a
    guess, a join can go quadratic on data of another shape; analysed, it is planned on the true count. -#}
{%- for family in ['activity', 'churn', 'crisis', 'emotion', 'lifecycle'] %}
select customer_id, rule_code, crisis_event_id, trigger_detail
from {{ ref('int_lists__retention_hits_' ~ family) }}
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
