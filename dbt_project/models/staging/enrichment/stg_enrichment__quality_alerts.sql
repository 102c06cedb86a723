{#- Staging: DQ-06 alerts raised by the Python text-enrichment task when the sentiment model fails its
    quality gate, for the run date. The source table exists (empty) before the task ever ran: the
    on-run-start hook create_source_tables() creates it. -#}
select
    run_date,
    alert_code,
    level,
    scope,
    metric_value,
    threshold,
    message,
    policy_version
from {{ source('enrichment', 'quality_alerts') }}
where run_date = {{ run_date() }}

