{#- RP-03: `ts` falls in one of the two windows a crisis KPI compares (a row `e` of int_crisis__windows):
    the crisis_kpi_window_days before the crisis started, [pre_start, started_at), or the same number of
    days after it was resolved, cut at the run date, [post_start, post_cut). The complaint and CSAT
    figures of crisis_recovery read their rows through it, so the two measure the same windows. -#}
{% macro in_crisis_kpi_windows(ts, e='e') -%}
(({{ ts }} >= {{ e }}.pre_start and {{ ts }} < {{ e }}.started_at)
            or ({{ ts }} >= {{ e }}.post_start and {{ ts }} < {{ e }}.post_cut))
{%- endmacro %}

{#- RP-03 / RP-15: a crisis KPI is judged only when both of its bases (the customers behind the two rates
    compared) reach outcome_min_group_size; an unset minimum judges any base. crisis_kpis' scoreboard and
    crisis_recovery's meets_recovery_target both decide through it, so the two never disagree. -#}
{% macro crisis_kpi_bases_suffice(n_measured, n_baseline, min_group_size) -%}
(coalesce({{ n_measured }}, 0) >= coalesce({{ min_group_size }}, 0)
            and coalesce({{ n_baseline }}, 0) >= coalesce({{ min_group_size }}, 0))
{%- endmacro %}
