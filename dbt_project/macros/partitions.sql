{#- History that does not explode (docs/scaling.md): every per-date table (the per-date marts and list
    candidates dbt builds, the scores, reasons and published lists Python writes) is partitioned by
    month of run_date, so the nightly retention drops whole months (orchestration/history.py).

    One DDL path for both writers: the PL/pgSQL functions below, installed by dbt's on-run-start
    (`partition_setup`) and by Python (crm_scoring/partitions.py reads `partition_functions` from this
    file), then called by both. The partitions live in schema `partitions`, named
    <schema>__<table>__pYYYYMM and <schema>__<table>__default: the parents' schemas keep one relation per
    table (dbt, the audited-read policy of `lists` and the drop guard of docker/init-warehouse.sql see
    only parents), and the retention may drop a month that the drop guard would otherwise refuse.

    Everything runs in the caller's transaction (a dbt hook, a Python writer's transaction): a kill
    between two statements rolls all of it back, and every step is idempotent, so the rerun finishes it.
    A per-table advisory lock serialises two writers creating the same month.

    The body of `partition_functions` is plain SQL (no Jinja): Python executes it as it stands. -#}
{% macro partition_functions() -%}
select pg_advisory_xact_lock(hashtext('crm_scoring.partition_functions'));
create schema if not exists ops;
create schema if not exists partitions;

-- a relation named partitions.<p_name> that is not a partition of p_parent (the partitions of dbt's
-- __dbt_backup after a full refresh, kept until dbt drops the backup) is renamed out of the way
create or replace function ops.crm_partition_free_name(p_name text, p_parent oid)
returns boolean language plpgsql as $fn$
declare
    rel oid := to_regclass(format('partitions.%I', p_name));
    owner oid;
begin
    if rel is null then
        return true;
    end if;
    select inhparent into owner from pg_inherits where inhrelid = rel;
    if owner = p_parent then
        return false;  -- already there
    end if;
    execute format('alter table partitions.%I rename to %I', p_name, left(p_name, 50) || '_' || rel::text);
    return true;
end
$fn$;

-- a plain table becomes a partitioned one in place: rename the old table, create the partitioned
-- parent like it (columns, defaults, constraints, indexes, comments), one partition per month it holds
-- plus DEFAULT, copy the rows, recreate the views that read it, carry its grants and row-level
-- security flag, drop the old table (or empty it when the drop guard keeps it: only a superuser may
-- drop a protected table).
create or replace function ops.crm_partition_convert(p_schema text, p_table text)
returns void language plpgsql as $fn$
declare
    old_name text := left(p_table, 45) || '__unpartitioned';
    old oid;
    parent oid;
    r record;
    view_sql text[] := '{}';
    stmt text;
begin
    execute format('lock table %I.%I in access exclusive mode', p_schema, p_table);
    old := to_regclass(format('%I.%I', p_schema, p_table));
    for r in
        select distinct v.oid, format('%I.%I', vn.nspname, v.relname) as name, pg_get_viewdef(v.oid) as def,
               coalesce(' with (' || array_to_string(v.reloptions, ', ') || ')', '') as options
        from pg_depend d
        join pg_rewrite w on w.oid = d.objid
        join pg_class v on v.oid = w.ev_class
        join pg_namespace vn on vn.oid = v.relnamespace
        where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
          and d.refobjid = old and v.oid <> old and v.relkind = 'v'
    loop
        view_sql := view_sql || format('create or replace view %s%s as %s', r.name, r.options, r.def);
    end loop;
    execute format('alter table %I.%I rename to %I', p_schema, p_table, old_name);
    for r in select c.oid, c.relname from pg_index x join pg_class c on c.oid = x.indexrelid
             where x.indrelid = old loop
        execute format('alter index %I.%I rename to %I', p_schema, r.relname, 'crm_unpartitioned_' || r.oid);
    end loop;
    execute format('create table %I.%I (like %I.%I including all) partition by range (run_date)',
                   p_schema, p_table, p_schema, old_name);
    parent := to_regclass(format('%I.%I', p_schema, p_table));
    for r in select a.grantee, a.privilege_type from pg_class c, aclexplode(c.relacl) a
             where c.oid = old and a.grantee <> c.relowner loop
        execute format('grant %s on %I.%I to %s', r.privilege_type, p_schema, p_table,
                       case when r.grantee = 0 then 'public' else quote_ident(r.grantee::regrole::text) end);
    end loop;
    if (select relrowsecurity from pg_class where oid = old) then
        execute format('alter table %I.%I enable row level security', p_schema, p_table);
    end if;
    perform ops.crm_partition_month(p_schema, p_table, null);  -- DEFAULT
    for r in execute format('select distinct date_trunc(''month'', run_date)::date as m from %I.%I'
                            ' where run_date is not null order by 1', p_schema, old_name) loop
        perform ops.crm_partition_month(p_schema, p_table, r.m);
    end loop;
    execute format('insert into %I.%I select * from %I.%I', p_schema, p_table, p_schema, old_name);
    foreach stmt in array view_sql loop
        execute stmt;
    end loop;
    begin
        execute format('drop table %I.%I', p_schema, old_name);
    exception when insufficient_privilege then
        execute format('truncate table %I.%I', p_schema, old_name);
        raise warning 'the drop guard keeps %.% (emptied): a superuser may drop it', p_schema, old_name;
    end;
end
$fn$;

-- the DEFAULT partition of <schema>.<table> and, with p_day, the partition of p_day's month;
-- a plain table is converted first; a missing table or a view is left alone (returns false)
create or replace function ops.crm_partition_month(p_schema text, p_table text, p_day date)
returns boolean language plpgsql as $fn$
declare
    parent oid := to_regclass(format('%I.%I', p_schema, p_table));
    kind "char";
    lo date;
    hi date;
    part text;
    prefix text := p_schema || '__' || p_table || '__';  -- <schema>__<table>__pYYYYMM, ..__default
    dflt text := prefix || 'default';
    moved boolean;
begin
    if parent is null then
        return false;
    elsif octet_length(prefix) > 63 - 7 then
        raise exception 'partition names of %.% would exceed 63 bytes: shorten it', p_schema, p_table;
    end if;
    -- the nightly case, without a lock (a lock would be held to the caller's commit: concurrent writers
    -- of one table, e.g. the scoring shards, would queue behind each other's COPY)
    if exists (select 1 from pg_partitioned_table where partrelid = parent and partdefid <> 0)
       and (p_day is null or exists (
           select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = parent and c.relnamespace = 'partitions'::regnamespace
             and c.relname = prefix || 'p' || to_char(p_day, 'YYYYMM'))) then
        return true;
    end if;
    perform pg_advisory_xact_lock(hashtext('crm_scoring.partition:' || p_schema || '.' || p_table));
    select relkind into kind from pg_class where oid = parent;
    if kind = 'r' then
        perform ops.crm_partition_convert(p_schema, p_table);
        parent := to_regclass(format('%I.%I', p_schema, p_table));
    elsif kind is distinct from 'p' then
        return false;
    end if;
    if (select partdefid from pg_partitioned_table where partrelid = parent) = 0
       and ops.crm_partition_free_name(dflt, parent) then
        execute format('create table partitions.%I partition of %I.%I default', dflt, p_schema, p_table);
    end if;
    if p_day is null then
        return true;
    end if;
    lo := date_trunc('month', p_day)::date;
    hi := (lo + interval '1 month')::date;
    part := prefix || 'p' || to_char(lo, 'YYYYMM');
    if not ops.crm_partition_free_name(part, parent) then
        return true;
    end if;
    execute format('select exists (select 1 from partitions.%I where run_date >= %L and run_date < %L)',
                   dflt, lo, hi) into moved;
    if not moved then
        execute format('create table partitions.%I partition of %I.%I for values from (%L) to (%L)',
                       part, p_schema, p_table, lo, hi);
        return true;
    end if;
    -- PostgreSQL refuses a partition whose rows sit in DEFAULT: build it beside, move them, attach it
    execute format('create table partitions.%I (like %I.%I including defaults including constraints)',
                   part, p_schema, p_table);
    execute format('with gone as (delete from partitions.%I where run_date >= %L and run_date < %L returning *)'
                   ' insert into partitions.%I select * from gone', dflt, lo, hi, part);
    execute format('alter table %I.%I attach partition partitions.%I for values from (%L) to (%L)',
                   p_schema, p_table, part, lo, hi);
    return true;
end
$fn$;

-- every table partitioned by range (run_date) gets its DEFAULT partition (the parents the source DDL
-- creates empty: direct inserts by tests and repairs land there until their month exists)
create or replace function ops.crm_partition_defaults()
returns integer language plpgsql as $fn$
declare
    r record;
    n integer := 0;
begin
    for r in
        select n.nspname, c.relname
        from pg_partitioned_table p
        join pg_class c on c.oid = p.partrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = p.partattrs[0]
        where p.partstrat = 'r' and p.partnatts = 1 and a.attname = 'run_date'
          and n.nspname <> 'partitions' and p.partdefid = 0
        order by 1, 2
    loop
        perform ops.crm_partition_month(r.nspname, r.relname, null);
        n := n + 1;
    end loop;
    return n;
end
$fn$;
{%- endmacro %}

{#- on-run-start, after create_source_tables: the functions, and the DEFAULT partition of every parent the
    source DDL just created. -#}
{% macro partition_setup() -%}
{{ partition_functions() }}
select ops.crm_partition_defaults()
{%- endmacro %}

{#- pre-hook and post-hook of every model (dbt_project.yml). A per-date model (incremental with
    unique_key run_date, the tables orchestration/history.py prunes) gets its run date's month partition
    before the insert (pre-hook) and, on its first build, is converted from dbt's plain table (post-hook).
    The decision whether the table exists, is plain or partitioned is the function's, server side: the
    hook's SQL, like the model's, is the same on an empty and on a built warehouse. -#}
{% macro partition_by_run_date() -%}
    {%- if config.get('materialized') == 'incremental' and config.get('unique_key') == 'run_date' -%}
        select ops.crm_partition_month('{{ this.schema }}', '{{ this.identifier }}', {{ run_date() }})
    {%- endif -%}
{%- endmacro %}
