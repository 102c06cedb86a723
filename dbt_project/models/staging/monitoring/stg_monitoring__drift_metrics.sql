{#- Staging: drift metrics (AL-14) of nights on or before var('run_date'). Empty until the drift step
    first ran (the on-run-start hook create_source_tables() creates the table). -#}
select run_date, model_name, model_version, scope, feature, rows_current, rows_reference,
       missing_share_current, psi, distance_name, distance
from {{ source('monitoring_scoring', 'drift_metrics') }}
where run_date <= {{ run_date() }}
