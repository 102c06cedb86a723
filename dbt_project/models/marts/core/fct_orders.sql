{{ config(**incremental_latest_config('order_id', 'order_ts')) }}
{#- Order fact (CV-01..CV-03 revenue, spend, tier; CF-01 / CF-02): one row per order in its latest version
    exported on or before run_date (landing contract: a re-exported order with a later updated_at, e.g.
    completed -> returned, replaces the earlier one). Incremental on order_id: a forward run merges only
    the new exports; a rerun / backfill rebuilds as of run_date (macro incremental_latest). -#}
{{ incremental_latest(ref('stg_crm__orders'), 'order_id', version_column='updated_at') }}
