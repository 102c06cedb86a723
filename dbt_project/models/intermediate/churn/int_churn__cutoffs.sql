{{ config(materialized='table', indexes=[{'columns': ['as_of_date'], 'unique': true}]) }}
-- depends_on: {{ ref('int_churn__training_cutoffs') }}
{#- The as-of dates of the churn features (CF, CH-02), one row each: the run date (nightly scoring,
    churn_features) and, in a dbt invocation that builds churn_training_set (selector training_snapshots,
    or a whole-project build), the training cutoffs of int_churn__training_cutoffs. Every int_churn__*
    family is computed over these rows, so scoring and training features come from the same models.
    Why the selection decides: the families are tables rebuilt per invocation; computing the training
    cutoffs every night would multiply the nightly feature cost by their number (up to
    churn_snapshot_dense_count) for rows only the weekly training reads.
    prev_as_of_date: the previous cutoff, for the lifetime buckets of int_churn__activity. -#}
{%- set with_training = churn_with_training_cutoffs() %}
with dates as (
    select {{ run_date() }} as as_of_date, true as is_scoring
    {%- if with_training %}

    union all

    select as_of_date, false as is_scoring
    from {{ ref('int_churn__training_cutoffs') }}
    {%- endif %}
),

distinct_dates as (
    select as_of_date, bool_or(is_scoring) as is_scoring, bool_or(not is_scoring) as is_training
    from dates
    group by as_of_date
)

select
    as_of_date,
    {{ day_end('as_of_date') }} as as_of_end,
    lag(as_of_date) over (order by as_of_date) as prev_as_of_date,
    is_scoring,
    is_training
from distinct_dates
