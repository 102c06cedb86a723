{{ config(**incremental_latest_config('event_id', 'event_ts')) }}
{#- Interaction fact (logins, app / web events; ST-08 activity, CF-03 / CF-04 login features): one row
    per event in its latest version exported on or before run_date (a re-exported event replaces the
    earlier one: later export, then later line). Incremental on event_id: a forward run merges only the
    new exports; a rerun / backfill rebuilds as of run_date (macro incremental_latest). -#}
{{ incremental_latest(ref('stg_crm__interactions'), 'event_id') }}
