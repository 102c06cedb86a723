{#- The trailing windows of the churn features' activity families (CF-01..CF-05), written once: each is a sum of
    a measure of int_activity__customer_days over the days whose age (as-of date - activity_date) lies in
    [lo, hi]. int_churn__activity sums them directly at training cutoffs (macro activity_window_sums);
    int_activity__customer_windows keeps them per customer as of the run date and carries them forward from
    the previous night (macro activity_window_deltas: add the days entering a window, subtract the days
    leaving it), which is exact because every window is such a sum. `internal` columns are not features:
    they count the rows in scope (macro activity_window_scope), so the forward night knows when a customer
    leaves it. `cast` fixes a numeric column's scale, so a carried value prints as its recomputation does. -#}
{% macro activity_windows() -%}
    {%- set visit = 'case when {d}.logins + {d}.app_events > 0 then 1 else 0 end' -%}
    {%- set money = '::numeric(18, 2)' -%}
    {{ return([
        {'name': 'orders_30d', 'measure': '{d}.paid_orders', 'lo': 0, 'hi': 29},
        {'name': 'orders_90d', 'measure': '{d}.paid_orders', 'lo': 0, 'hi': 89},
        {'name': 'orders_prior_90d', 'measure': '{d}.paid_orders', 'lo': 90, 'hi': 179},
        {'name': 'orders_365d', 'measure': '{d}.paid_orders', 'lo': 0, 'hi': 364},
        {'name': 'revenue_30d', 'measure': '{d}.paid_revenue', 'lo': 0, 'hi': 29, 'cast': money},
        {'name': 'revenue_90d', 'measure': '{d}.paid_revenue', 'lo': 0, 'hi': 89, 'cast': money},
        {'name': 'revenue_prior_90d', 'measure': '{d}.paid_revenue', 'lo': 90, 'hi': 179, 'cast': money},
        {'name': 'revenue_365d', 'measure': '{d}.paid_revenue', 'lo': 0, 'hi': 364, 'cast': money},
        {'name': 'logins_7d', 'measure': '{d}.logins', 'lo': 0, 'hi': 6},
        {'name': 'logins_30d', 'measure': '{d}.logins', 'lo': 0, 'hi': 29},
        {'name': 'logins_90d', 'measure': '{d}.logins', 'lo': 0, 'hi': 89},
        {'name': 'logins_prior_90d', 'measure': '{d}.logins', 'lo': 30, 'hi': 119},
        {'name': 'app_events_7d', 'measure': '{d}.app_events', 'lo': 0, 'hi': 6},
        {'name': 'app_events_30d', 'measure': '{d}.app_events', 'lo': 0, 'hi': 29},
        {'name': 'app_events_90d', 'measure': '{d}.app_events', 'lo': 0, 'hi': 89},
        {'name': 'events_30d', 'measure': '{d}.logins + {d}.app_events', 'lo': 0, 'hi': 29},
        {'name': 'events_prior_60d', 'measure': '{d}.logins + {d}.app_events', 'lo': 30, 'hi': 89},
        {'name': 'visit_days_30d', 'measure': visit, 'lo': 0, 'hi': 29},
        {'name': 'visit_days_prior_90d', 'measure': visit, 'lo': 30, 'hi': 119},
        {'name': 'scope_days_recent', 'measure': '1', 'lo': 0, 'hi': 119, 'internal': true},
        {'name': 'scope_days_paid_older', 'measure': 'case when {d}.paid_orders > 0 then 1 else 0 end', 'lo': 120, 'hi': 364, 'internal': true},
    ]) }}
{%- endmacro %}

{#- The days a window can count at `as_of`: a paid order up to 364 days back, any activity up to 119 (the union
    of the windows' ranges where their measures can be non-zero; the two internal windows count exactly these
    rows). A customer without such a day has no row. -#}
{% macro activity_window_scope(alias, as_of) -%}
    {{ alias }}.activity_date <= {{ as_of }}
    and {{ alias }}.activity_date > {{ as_of }} - 365
    and ({{ alias }}.paid_orders > 0 or {{ alias }}.activity_date > {{ as_of }} - 120)
{%- endmacro %}

{#- One aggregate per window over rows of `alias` (grouped by the caller) at `as_of`. -#}
{% macro activity_window_sums(alias, as_of, internal=true) -%}
    {%- for w in activity_windows() if internal or not w.internal %}
        coalesce(sum({{ w.measure | replace('{d}', alias) }}) filter (where {{ as_of }} - {{ alias }}.activity_date between {{ w.lo }} and {{ w.hi }}), 0){{ w.cast or '' }} as {{ w.name }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The window columns of `alias`, for a select list. -#}
{% macro activity_window_columns(alias, internal=false) -%}
    {%- for w in activity_windows() if internal or not w.internal %}
    {{ alias }}.{{ w.name }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Moving from `from_date` to `to_date`: per window, the measure of the rows that enter it minus the measure of
    those that leave it (grouped by the caller), for any gap between the two dates. -#}
{% macro activity_window_deltas(alias, from_date, to_date) -%}
    {%- for w in activity_windows() %}
        {%- set measure = w.measure | replace('{d}', alias) %}
        {%- set now_in = to_date ~ ' - ' ~ alias ~ '.activity_date between ' ~ w.lo ~ ' and ' ~ w.hi %}
        {%- set was_in = from_date ~ ' - ' ~ alias ~ '.activity_date between ' ~ w.lo ~ ' and ' ~ w.hi %}
        coalesce(sum({{ measure }}) filter (where {{ now_in }} and not {{ was_in }}), 0)
          - coalesce(sum({{ measure }}) filter (where {{ was_in }} and not {{ now_in }}), 0) as {{ w.name }}
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The days whose membership of some window changes between `from_date` and `to_date` (before `to_date`):
    for each window, the days entering at its lower bound, (from - lo, to - lo], and those leaving past its upper
    bound, (from - hi - 1, to - hi - 1]. Every other day is in the same windows on both dates. -#}
{% macro activity_window_boundaries(alias, from_date, to_date) -%}
    {%- set offsets = [] %}
    {%- for w in activity_windows() %}
        {%- if w.lo not in offsets %}{% do offsets.append(w.lo) %}{% endif %}
        {%- if (w.hi + 1) not in offsets %}{% do offsets.append(w.hi + 1) %}{% endif %}
    {%- endfor %}
    (
    {%- for offset in offsets | sort %}
        ({{ alias }}.activity_date > {{ from_date }} - {{ offset }} and {{ alias }}.activity_date <= {{ to_date }} - {{ offset }})
        {%- if not loop.last %} or{% endif %}
    {%- endfor %}
    )
{%- endmacro %}

{#- int_activity__customer_windows' version: its model file and the window definitions above (a macro change
    does not change the model's checksum), plus the seeds it reads (incremental_customers_fingerprint). A
    table built by another version is rebuilt, never carried forward. -#}
{% macro customer_windows_fingerprint() -%}
    {{ incremental_customers_fingerprint() }} windows {{ local_md5(activity_windows() | string)[:12] }}
{%- endmacro %}

{#- The table's mark as 'YYYY-MM-DD' when tonight carries it forward (the table exists, was built by this
    version, as of an earlier date, and this is no --full-refresh), else none: a rebuild as of run_date. The
    model is a table rebuilt from the stored one, so dbt's is_incremental() does not apply. -#}
{% macro customer_windows_forward_from() -%}
    {%- if not execute or should_full_refresh() or load_relation(this) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set comment = "obj_description('" ~ this ~ "'::regclass, 'pg_class')" -%}
    {{ return(incremental_forward_mark(
        "select case when strpos(" ~ comment ~ ", '(macro customer_windows, " ~ customer_windows_fingerprint() ~ ")') > 0"
        ~ " then substring(" ~ comment ~ " from 'as of (\\d{4}-\\d{2}-\\d{2})') end",
        stored=true,
        rerun_version='',
    )) }}
{%- endmacro %}

{#- post-hook: the run date the table is now as of, the version that built it and the loads it saw. -#}
{% macro customer_windows_mark() -%}
    comment on table {{ this }} is 'as of {{ run_date_value() }} (macro customer_windows, {{ customer_windows_fingerprint() }}){{ raw_loads_mark() }}'
{%- endmacro %}
