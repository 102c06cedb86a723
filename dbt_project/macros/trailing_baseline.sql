{#- The trailing baseline of the monitoring marts (DQ-12, AL-20): per key, the median of `value` over
    the rows dated in [run date - days, run date), counted only when at least `min_points` rows are
    there (fewer is "no baseline": the check reports its value with status ok). `days` and
    `min_points` are SQL expressions, normally policy parameters read in the model's `params` CTE.
    One definition for every trailing median (file volumes, stage durations, list sizes). -#}
{% macro trailing_median(relation, key, value, date_column, days, min_points, where='true') -%}
    select {{ key }},
           percentile_cont(0.5) within group (order by {{ value }})::double precision as median_value
    from {{ relation }}
    where ({{ where }})
      and {{ date_column }} < {{ run_date() }}
      and {{ date_column }} >= {{ run_date() }} - ({{ days }})
    group by {{ key }}
    having count(*) >= ({{ min_points }})
{%- endmacro %}

{#- A value outside +-tolerance of its baseline: |value / baseline - 1| > tolerance (no baseline,
    a zero baseline or an unset tolerance: false). -#}
{% macro deviates_from_baseline(value, baseline, tolerance) -%}
    ({{ baseline }} > 0 and abs({{ value }} / {{ baseline }} - 1) > {{ tolerance }})
{%- endmacro %}
