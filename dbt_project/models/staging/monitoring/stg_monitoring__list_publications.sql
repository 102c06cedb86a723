{#- Staging: rows published per list and run date, on or before var('run_date'). Empty until the first
    publication (the on-run-start hook create_source_tables() creates the table). -#}
select run_date, list_name, row_count
from {{ source('monitoring_lists', 'publication_log') }}
where run_date <= {{ run_date() }}
