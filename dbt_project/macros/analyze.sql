{#- Planner statistics. PostgreSQL plans the set-based marts badly on freshly written tables that have
    no statistics yet (minutes instead of seconds), and autovacuum runs too late for a nightly batch. -#}

{#- post-hook: analyze what this model just wrote (tables and incrementals; views have nothing to analyze) -#}
{% macro analyze_this() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- on-run-start: analyze raw tables changed since their last analyze (cheap when nothing changed) -#}
{% macro analyze_stale_raw() -%}
    do $$
    declare t record;
    begin
        for t in
            select schemaname, relname
            from pg_stat_user_tables
            where schemaname in ('raw', 'enrichment', 'scoring')
              and (last_analyze is null and last_autoanalyze is null or n_mod_since_analyze > 0)
        loop
            execute format('analyze %I.%I', t.schemaname, t.relname);
        end loop;
    end
    $$
{%- endmacro %}

{#- pre-hook of every model: no nested-loop joins inside a model build. The as-of staging views (latest
    version per key through a window filter) and multiply-referenced CTEs carry no statistics, so
    PostgreSQL estimates a few hundred rows where there are hundreds of thousands and then picks nested
    loops that grow with customers x customers (int_customers__revenue at 100k customers: minutes, 2.6 s
    without). Every join in these set-based models is an equi-join that a hash or merge join serves; a
    join with no such alternative (a range join) still gets a nested loop. `set local` ends with the
    model's transaction.
    And no JIT compilation. A range join that keeps its nested loop is costed with PostgreSQL's
    disable_cost (1e10), far above jit_above_cost / jit_optimize_above_cost / jit_inline_above_cost, so
    PostgreSQL JIT-compiled, optimised and inlined the whole plan: 1,713 functions and 63 s of LLVM for
    compensation_candidates, whose execution takes 0.2 s (5,000 customers; every deep model paid it). These
    are one-shot batch statements over plans with hundreds of nodes: compilation never pays back.
    And the build's work_mem (macro build_work_mem): PostgreSQL's default 4 MB is sized for many small
    concurrent queries, not for a batch of a few large hashes and sorts. -#}
{% macro planner_settings() -%}
    set local enable_nestloop = off; set local jit = off; set local work_mem = '{{ build_work_mem() }}'
{%- endmacro %}

{#- work_mem of every model build and data test: environment variable CRM_DBT_WORK_MEM, default 64MB (a
    PostgreSQL memory size: digits and kB / MB / GB). At 1,000,000 customers the 4 MB default spilled the
    largest hashes and sorts: late_arriving_customers' hash of the 1M known customers (planned for 5,002
    rows, the as-of view's estimate) grew to 8 batches, 3.4 GB of temporary files (0.5 GB at 64 MB), and
    int_activity__customer_days' forward delete and select wrote 93k and 190k temporary pages (none and 17k)
    (docs/scaling.md, "Session 12: the incremental night at 1,000,000 customers"). A query may use it once
    per hash or sort node (a hash up to hash_mem_multiplier, 2, times it), and dbt runs 2 models at a time:
    size it against the database server's memory. The same knob as CRM_INGEST_WORK_MEM for ingest
    (src/crm_scoring/ingest/loader.py). -#}
{% macro build_work_mem() -%}
    {%- set value = env_var('CRM_DBT_WORK_MEM', '64MB') | string | trim -%}
    {%- if not modules.re.match('^[0-9]+(kB|MB|GB)$', value) -%}
        {{ exceptions.raise_compiler_error("CRM_DBT_WORK_MEM=" ~ value ~ " is not a PostgreSQL memory size like 64MB") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- Data tests read the same statistics-less as-of views, so their query gets the models' planner settings too:
    a relationships test of a staging view planned a nested loop over 18,481 x 2,532 rows (12 s at 5,000
    customers, milliseconds hashed). Overrides dbt's get_test_sql for PostgreSQL (dispatch looks in the root
    project first); the result is the same statement dbt would run, after the `set local`s. -#}
{% macro postgres__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {{ planner_settings() }};
    {{ default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
{%- endmacro %}
