{#- Incremental by delta for a per-date snapshot mart (delete+insert by run_date, one snapshot per run
    date) whose rows on a run date can be derived from the rows of an earlier snapshot plus what arrived
    since (issue 12: late_arriving_customers). The same mark as incremental_customers: the table comment
    says which run date the table was last built as of and by which version of the model (its fingerprint),
    plus the number of rows that build wrote for that date:
      forward   run_date > mark, the fingerprint is this model's and the snapshot of the mark's date still
                holds the rows it was built with: the model may start from that snapshot.
      rebuild   first build, --full-refresh, no mark, a mark of another version of the model, a snapshot
                that lost rows (the retention dropped its month) or a rewind (mark >= run_date: a rerun
                of the same date, maybe re-ingested, or a backfill of an earlier date): the model computes
                the date's rows from everything, like a full refresh. The next forward night starts from it.
    Any earlier snapshot built by the same model is an exact base: the delta since its date is what the
    model adds, however many nights lie between. -#}

{#- The mark's date as 'YYYY-MM-DD' when this run is a forward run, else none (rebuild as of run_date). One
    query; call it once per model build. -#}
{% macro incremental_snapshot_forward_from() -%}
    {%- set comment = "obj_description('" ~ this ~ "'::regclass, 'pg_class')" -%}
    {%- set mark = "substring(" ~ comment ~ " from 'as of (\\d{4}-\\d{2}-\\d{2})')" -%}
    {%- set rows = "substring(" ~ comment ~ " from ', (\\d+) rows\\)')::bigint" -%}
    {{ return(incremental_forward_mark(
        "select case when strpos(" ~ comment ~ ", '" ~ incremental_customers_fingerprint() ~ "') > 0"
        ~ " and " ~ rows ~ " = (select count(*) from " ~ this ~ " where run_date = " ~ mark ~ "::date)"
        ~ " then " ~ mark ~ " end"
    )) }}
{%- endmacro %}

{#- post-hook: the run date the table is now as of, and the rows of that date (a forward night checks that
    its base snapshot is still whole). -#}
{% macro incremental_snapshot_mark() -%}
    do $$
    begin
        execute format(
            'comment on table {{ this }} is %L',
            'as of {{ run_date_value() }} (macro incremental_snapshot, {{ incremental_customers_fingerprint() }}, '
            || (select count(*) from {{ this }} where run_date = {{ run_date() }}) || ' rows)'
        );
    end
    $$
{%- endmacro %}
