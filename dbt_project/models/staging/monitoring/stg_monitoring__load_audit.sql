{#- Staging: the ingest step's load audit for exports on or before var('run_date'). Empty until the first
    ingest (the on-run-start hook create_source_tables() creates the table). -#}
select export_date, table_name, status, rows_read, rows_loaded, rows_quarantined
from {{ source('monitoring_ops', 'load_audit') }}
where export_date <= {{ run_date() }}
