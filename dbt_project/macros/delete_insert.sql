{#- dbt's delete+insert, with the delete planned for what it deletes (issue 12). dbt-postgres deletes the
    keys of the new rows with `where (key) in (select distinct key from <new rows>)`. Under
    planner_settings() (no nested loops in a model build) and with no statistics on dbt's fresh temporary
    table, PostgreSQL answers that with a hash semi-join over a sequential scan of the whole target:
      - key run_date (the per-date marts and candidates, partitioned by month of run_date): every partition
        of the retained history was read each night, as an IN over a subquery cannot be pruned. The new
        rows' first and last run date bound the delete too; as executor parameters they let PostgreSQL
        prune every partition outside them at run time.
      - any other key (the incremental facts, one row per key with a unique index on it, e.g. 40M
        interactions at 1,000,000 customers): the whole fact was read to delete a night's few hundred
        thousand keys. The new rows are analyzed and nested loops allowed for this statement, so the planner
        may probe the key's index once per new key where that is cheaper than the scan.
    The rows deleted and inserted are exactly dbt's (the same statement, one more predicate implied by the
    first); only the plan changes. Dispatch looks in the root project first (like postgres__get_test_sql). -#}
{% macro postgres__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- if unique_key == 'run_date' and not incremental_predicates -%}
        {%- set bounds = 'run_date between (select min(run_date) from ' ~ source ~ ') and (select max(run_date) from '
                         ~ source ~ ')' -%}
        {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, [bounds]) }}
    {%- elif unique_key -%}
        analyze {{ source }};
        set local enable_nestloop = on;
        {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
    {%- else -%}
        {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
    {%- endif -%}
{%- endmacro %}
