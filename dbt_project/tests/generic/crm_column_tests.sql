{#- Every column test of one model that is cheap to batch (not_null, accepted_values, crm_accepted_range,
    severity error), checked in ONE scan of the model; one row per failing test, named as dbt names it.

    Why: a night ran ~440 such tests as ~440 dbt nodes, each with its own compilation, connection, query
    and log events (~35 ms of dbt CPU per node at demo size, and one scan of the table per test at any
    size). The nightly selectors (selectors.yml, `batched_column_tests`) leave those nodes out and run this
    test instead, one node per model. The column tests stay declared where dbt users look for them (the
    column's `data_tests:` in the model's YAML, the docs site), and an unselected `dbt build` or
    `dbt test -s <model>` still runs each of them on its own. This test reads their declarations from the
    graph, so the two can never disagree. Rows returned: `test_name` (the column test that failed, as in
    the YAML and the docs) and `failing_rows`.

    Declared once per model, in its YAML (`data_tests: [crm_column_tests]` at model level); a model with
    batchable column tests but without it is refused by tests/test_column_tests.py. -#}
{% test crm_column_tests(model) %}
{%- set checks = [] -%}
{%- if execute -%}
    {%- set relation = model | string -%}
    {%- set owner = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed', 'snapshot') and node.relation_name == relation -%}
        {%- do owner.append(node.unique_id) -%}
    {%- endfor -%}
    {%- if owner | length != 1 -%}
        {{ exceptions.raise_compiler_error("crm_column_tests: no single model or seed is " ~ relation ~ " (found " ~ owner ~ ")") }}
    {%- endif -%}
    {%- for test in graph.nodes.values() if test.resource_type == 'test' and test.attached_node == owner[0] -%}
        {%- set meta = test.test_metadata or {} -%}
        {%- if meta.name in crm_batched_column_test_names() and (test.config.severity | lower) == 'error' -%}
            {%- set kwargs = meta.kwargs -%}
            {%- set column = kwargs.column_name -%}
            {%- if meta.name == 'not_null' -%}
                {%- set failing = column ~ ' is null' -%}
            {%- elif meta.name == 'accepted_values' -%}
                {%- set values = [] -%}
                {%- for value in kwargs['values'] -%}
                    {%- do values.append(("'" ~ (value | string | replace("'", "''")) ~ "'") if kwargs.get('quote', true) else (value | string)) -%}
                {%- endfor -%}
                {%- set failing = column ~ ' not in (' ~ values | join(', ') ~ ')' -%}
            {%- else -%}
                {%- set bounds = [] -%}
                {%- if kwargs.get('min_value') is not none -%}{%- do bounds.append(column ~ ' < ' ~ kwargs.min_value) -%}{%- endif -%}
                {%- if kwargs.get('max_value') is not none -%}{%- do bounds.append(column ~ ' > ' ~ kwargs.max_value) -%}{%- endif -%}
                {%- set failing = '(' ~ (bounds | join(' or ') or 'false') ~ ')' -%}
            {%- endif -%}
            {%- if test.config.where -%}
                {%- set failing = '(' ~ fill_run_date(test.config.where) ~ ') and ' ~ failing -%}
            {%- endif -%}
            {%- do checks.append((test.name, failing)) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
{%- if checks %}
with counted as (
    select
        {%- for name, failing in checks | sort %}
        count(*) filter (where {{ failing }}) as check_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}
)
select test_name, failing_rows
from counted
cross join lateral (values
    {%- for name, failing in checks | sort %}
    ('{{ name }}', check_{{ loop.index }}){{ ',' if not loop.last }}
    {%- endfor %}
) as checks (test_name, failing_rows)
where failing_rows > 0
{%- else %}
select null as test_name, 0 as failing_rows where false
{%- endif %}
{% endtest %}
