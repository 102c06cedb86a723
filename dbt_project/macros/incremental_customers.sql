{#- Incremental by customer: a per-customer table over the whole history, recomputed each night only for the
    customers whose input changed since the table was last built (issue 12: the incremental night must cost a
    fraction of a full refresh, and equal it exactly).

    The table records the run date it is "as of" in its comment (post-hook incremental_customers_mark), not
    in a column: a row of a customer untouched tonight is identical to the row a full refresh writes.
      forward   run_date > mark: the affected customers (below) are written to a temporary table by the
                pre-hook, their rows deleted; the model selects only their rows (incremental_customers_filter)
                and dbt appends them. Cost ~ the affected customers' history, not everyone's.
      rebuild   first build, --full-refresh, no mark, a mark of another version of the model (its
                fingerprint, the model file's checksum) or a rewind (mark >= run_date: a rerun of the same
                date re-ingested with other files, or a backfill of an earlier date): the pre-hook empties
                the table and the model selects every customer, as of run_date. The next forward night
                catches up.
      rerun     mark = run_date and the loads up to run_date are those the mark recorded (macro
                incremental_marked_loads): forward from run_date to itself, no customer affected. Loads
                up to the mark's date that changed since the mark (an earlier date re-ingested) rebuild.

    Affected customers (a superset is always exact, since recomputing a customer gives the rows a full
    refresh gives it; only a missed customer could differ): every customer of any raw version, exported on
    or before run_date, of a key (order, event, ticket, survey, ...) with a version exported after the
    mark: the new version's customer and, should a re-export move a row to another customer, the old
    one's too. No other stored row can change a customer's rows: the time column of each source is the
    contract's activity_time, which ingest keeps from lying after its export day (not_future), so no row
    exported on or before the mark "comes into view" later (contract.Table.activity_time). The key is
    indexed in raw for the same reason: the night's re-exported keys are probed, one index lookup each,
    instead of a scan of every raw row (at 1,000,000 customers, 57M rows read twice a night: once for
    the customer-days, once for the lifetime).
    `sources` lists the raw tables the model reads (contract tables with an activity_time; key and time
    column come from macro contract_table). A model whose rows also depend on run_date beyond this (a
    trailing window, "days since") must not use it.
    grain 'day' (a table keyed by customer_id and activity_date, each row an aggregate of that UTC day's
    rows): only the affected customer-days are recomputed, the days of the affected rows' versions; at
    100k a night touches ~30 % of the customers but ~1 % of their days. -#}

{#- The model file's checksum in the mark: a table built by another version of the model (its SQL changed:
    a new column, another aggregate) is rebuilt, never extended with rows of two definitions. So is a table
    built from other contents of a seed the model reads (int_lists__consent: the channels of
    channel_matrix), each seed by a digest of its loaded rows (small policy tables). A warehouse built
    before the fingerprint (a mark without it) is rebuilt once. A changed macro the model calls does not
    change the model's checksum: such a change needs a --full-refresh of the model. -#}
{% macro incremental_customers_fingerprint() -%}
    model {{ model.checksum.checksum[:16] }}
    {%- if execute %}
    {%- for node in model.depends_on.nodes | sort if node.startswith('seed.') %}
        {%- set digest = run_query(
            "select left(md5(coalesce(string_agg(s::text, E'\\n' order by s::text), '')), 12) from "
            ~ ref(graph.nodes[node].name) ~ " as s").columns[0].values()[0] %}
        {{- ' seeds' if loop.first }} {{ digest }}
    {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#- The mark as 'YYYY-MM-DD' when this run is a forward run, else none (rebuild as of run_date). -#}
{% macro incremental_customers_forward_from() -%}
    {#- no fingerprint before there is a table to compare it with (its seeds' digests query the warehouse,
        which may not hold the seeds yet: a compile on an empty warehouse) #}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set comment = "obj_description('" ~ this ~ "'::regclass, 'pg_class')" -%}
    {{ return(incremental_forward_mark(
        "select case when strpos(" ~ comment ~ ", '" ~ incremental_customers_fingerprint() ~ "') > 0"
        ~ " then substring(" ~ comment ~ " from 'as of (\\d{4}-\\d{2}-\\d{2})') end",
        rerun_version='',
    )) }}
{%- endmacro %}

{#- The temporary table of the affected customers' stored rows (grain 'carried', forward runs only). -#}
{% macro incremental_customers_stored() -%}
    {{ this.identifier }}__stored
{%- endmacro %}

{#- The temporary table of tonight's affected customers (forward runs only; dropped at commit). -#}
{% macro incremental_customers_affected() -%}
    {{ this.identifier }}__affected
{%- endmacro %}

{#- pre-hook: forward run: the affected customers (grain 'customer') or customer-days (grain 'day': the UTC
    day of each affected row's time, in column activity_date), and their rows deleted; rewind: every row.
    grain 'carried': a table keyed by customer whose rows a forward night may carry forward: the affected
    customer-days as for grain 'day', the affected customers' stored rows copied to a temporary table
    (incremental_customers_stored) before their rows are deleted by customer. -#}
{% macro incremental_customers_prepare(sources, grain='customer') -%}
    {%- set forward_from = incremental_customers_forward_from() -%}
    {%- if forward_from is not none -%}
        {#- the affected set and the delete may use nested loops: one probe of raw's key index per key
            re-exported tonight, one probe of the table's customer index per affected key (at 1,000,000
            customers 130k customer-days of 38M) instead of hash joins over scans of whole tables;
            planner_settings() applies again to the model's select after them. The affected set's probes
            are priced as on an SSD (random_page_cost 1.1, not 4): raw's keys arrive in export order, so
            tonight's keys sit together at the end of the index and of the heap, which the default cost
            does not see; at 4 the planner scanned the interactions, tickets and surveys whole (50,000
            customers: 0.31 s against 0.04 s; docs/scaling.md, "Session 15"). -#}
        {{ incremental_customers_affected_table(sources, forward_from, 'customer' if grain == 'customer' else 'day') }}
        {% if grain == 'carried' -%}
        {#- the affected customers' stored rows, before the delete: the model carries them forward #}
        create temporary table {{ incremental_customers_stored() }} on commit drop as
        select * from {{ this }}
        where customer_id in (select customer_id from {{ incremental_customers_affected() }});
        {#- a temporary table has no statistics until analysed: unanalysed, the planner took the affected
            customers' stored rows for 1.1M at 1,000,000 customers and their join for 454M rows (session 32) #}
        analyze {{ incremental_customers_stored() }};
        {% endif -%}
        {% if grain == 'day' -%}
        delete from {{ this }} as t
        using {{ incremental_customers_affected() }} as a
        where t.customer_id = a.customer_id and t.activity_date = a.activity_date
        {%- else -%}
        delete from {{ this }}
        where customer_id in (select customer_id from {{ incremental_customers_affected() }})
        {%- endif %};
        {{ planner_settings() }}
    {%- elif execute and is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The statements that write the temporary table of the customers (grain 'customer') or customer-days (grain
    'day') affected since `forward_from`, the mark's date: incremental_customers_prepare's, and
    int_activity__customer_windows' (which recomputes those customers and carries every other one forward). -#}
{% macro incremental_customers_affected_table(sources, forward_from, grain='customer') -%}
        set local enable_nestloop = on;
        set local random_page_cost = 1.1;
        create temporary table {{ incremental_customers_affected() }} on commit drop as
        {%- for table in sources %}
        {%- set spec = contract_table(table) %}
        {%- set key = spec.key[0] %}
        {%- if spec.activity_time is none or (spec.key | length != 1 and not spec.key_holds_customer_and_time) %}
            {{ exceptions.raise_compiler_error("incremental_customers: raw." ~ table ~ " needs an activity_time and a one-column key (or a key that holds the customer and the time) in the contract") }}
        {%- endif %}
        select r.customer_id{% if grain == 'day' %}, {{ utc_date('r.' ~ spec.activity_time) }} as activity_date{% endif %}
        from {{ source('raw', table) }} as r
        {%- if spec.key_holds_customer_and_time %}
        {#- every version of a key has tonight's row's customer and time: tonight's rows suffice #}
        where r._export_date > date '{{ forward_from }}' and r._export_date <= {{ run_date() }}
        {%- else %}
        where r.{{ key }} in (
                select d.{{ key }} from {{ source('raw', table) }} as d
                where d._export_date > date '{{ forward_from }}' and d._export_date <= {{ run_date() }}
            )
          and r._export_date <= {{ run_date() }}
        {%- endif %}
          and r.customer_id is not null
        {% if not loop.last %}union{% endif %}
        {%- endfor %};
        set local random_page_cost to default;
        analyze {{ incremental_customers_affected() }};
{%- endmacro %}

{#- In the model's SQL, on a forward run: `and <column> in (affected customers)`, or with `ts` (grain 'day')
    `and (<column>, UTC day of <ts>) in (affected customer-days)`; nothing otherwise. -#}
{% macro incremental_customers_filter(column='customer_id', ts=none) -%}
    {%- if incremental_customers_forward_from() is not none -%}
        {%- if ts is none %}
        and {{ column }} in (select customer_id from {{ incremental_customers_affected() }})
        {%- else %}
        and ({{ column }}, {{ utc_date(ts) }}) in (select customer_id, activity_date from {{ incremental_customers_affected() }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- grain 'day', in a FROM clause: the rows of `relation` (aliased `alias`) of the affected customer-days (`ts`
    on that UTC day) on a forward run, every row otherwise. Forward, each distinct affected customer-day probes
    the relation's (customer_id, `ts`) index through a lateral subquery; `offset 0` keeps PostgreSQL from
    pulling it up into a hash join over a scan of the whole relation, which the planner preferred although a
    customer-day holds a handful of rows. At 300,000 customers the 55,560 affected customer-days found their
    30,110 interactions among 12.2M in 0.35 s this way against 3.6 s by a hashed `in` (docs/scaling.md,
    "Session 31"). Use it for a relation with such an index; incremental_customers_filter(ts=) does the same
    without one. -#}
{% macro incremental_customers_day_rows(relation, alias, ts) -%}
    {%- if incremental_customers_forward_from() is not none -%}
    (select distinct customer_id, activity_date from {{ incremental_customers_affected() }}) as {{ alias }}__day
    cross join lateral (
        select *
        from {{ relation }} as r
        where r.customer_id = {{ alias }}__day.customer_id
          and r.{{ ts }} >= {{ alias }}__day.activity_date::timestamp at time zone 'UTC'
          and r.{{ ts }} < ({{ alias }}__day.activity_date + 1)::timestamp at time zone 'UTC'
        offset 0
    ) as {{ alias }}
    {%- else -%}
    {{ relation }} as {{ alias }}
    {%- endif -%}
{%- endmacro %}

{#- At the end of the model's SQL: `order by <columns>` (the table's unique index) when dbt appends to the
    existing table (a forward night, or a rewind that emptied it), nothing when dbt creates it (first build,
    --full-refresh: the indexes are built after the rows). dbt appends the model's rows in the order of its
    temporary table, so the index gets its new keys in key order: one pass over its leaf pages instead of a
    random leaf per row. At 1,000,000 customers (38M customer-days, pgserver's 128 MB shared_buffers) the
    132k-row append of a night read 244k pages at random, 172 s of I/O wait for 9 CPU s; in key order and
    with a non-unique index (no uniqueness check against the deleted rows' heap pages) 91k pages in index
    order, 7.7 s (docs/scaling.md, "Session 12: the incremental night at 1,000,000 customers"). -#}
{% macro incremental_customers_order(columns) -%}
    {%- if execute and is_incremental() %}
order by {{ columns }}
    {%- endif -%}
{%- endmacro %}

{#- post-hook: the run date the table is now as of, the version that built it and the loads it saw (a
    same-date rerun over the same loads is a no-op: incremental_marked_loads). -#}
{% macro incremental_customers_mark() -%}
    comment on table {{ this }} is 'as of {{ run_date_value() }} (macro incremental_customers, {{ incremental_customers_fingerprint() }}){{ raw_loads_mark() }}'
{%- endmacro %}

{#- The config of an incremental_customers model: append after the pre-hook's delete, the mark after. The
    columns follow the model (sync_all_columns): a changed model is a rebuild (its fingerprint), so every
    row is written by the new definition. -#}
{% macro incremental_customers_config(sources, indexes=[], grain='customer') -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'sync_all_columns',
        'pre_hook': "{{ incremental_customers_prepare(" ~ sources ~ ", '" ~ grain ~ "') }}",
        'post_hook': ["{{ incremental_customers_unique_indexes() }}", "{{ incremental_customers_mark() }}"],
        'indexes': indexes,
    }) }}
{%- endmacro %}

{#- post-hook: every unique index of the config exists on the table. dbt creates the configured indexes only
    with the relation, so a table that became incremental_customers after it was first built (a warehouse
    built when int_lists__consent was a plain table, whose uniqueness a data test then checked) would
    otherwise never get its unique index, and duplicates would pass unseen. A no-op once it exists. -#}
{% macro incremental_customers_unique_indexes() -%}
    {%- set unique = config.get('indexes', []) | selectattr('unique') | list -%}
    {%- if unique -%}
    do $$
    begin
        {%- for index in unique %}
        if not exists (
            select 1 from pg_index as i
            where i.indrelid = '{{ this }}'::regclass and i.indisunique
              and (select array_agg(a.attname::text order by k.ord)
                   from unnest(i.indkey) with ordinality as k(attnum, ord)
                   join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = k.attnum)
                  = array[{% for column in index.columns %}'{{ column }}'{% if not loop.last %}, {% endif %}{% endfor %}]
        ) then
            create unique index on {{ this }} ({{ index.columns | join(', ') }});
        end if;
        {%- endfor %}
    end
    $$
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
