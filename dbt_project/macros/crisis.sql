{#- RP-03: `ts` falls in one of the two windows a crisis KPI compares (a row `e` of int_crisis__windows):
    the crisis_kpi_window_days before the crisis started, [pre_start, started_at), or the same number of
    days after it was resolved, cut at the run date, [post_start, post_cut). The complaint and CSAT
    figures of crisis_recovery read their rows through it, so the two measure the same windows. -#}
{% macro in_crisis_kpi_windows(ts, e='e') -%}
(({{ ts }} >= {{ e }}.pre_start and {{ ts }} < {{ e }}.started_at)
            or ({{ ts }} >= {{ e }}.post_start and {{ ts }} < {{ e }}.post_cut))
{%- endmacro %}
