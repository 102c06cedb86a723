{{ config(**incremental_latest_config('ticket_id', 'created_at')) }}
{#- Ticket current state (CM-01): one row per ticket in its latest version exported on or before
    run_date (landing contract: a ticket re-exported with a later updated_at, e.g. open -> resolved ->
    closed, replaces the earlier version). The base of int_complaints__tickets / fct_tickets (whose
    run-date-dependent columns keep them per-run tables) and of every ticket consumer. Incremental on
    ticket_id: a forward run merges only the new exports; a rerun / backfill rebuilds as of run_date
    (macro incremental_latest). Text is already redacted in staging (ST-06). -#}
{{ incremental_latest(ref('stg_crm__tickets'), 'ticket_id', version_column='updated_at') }}
