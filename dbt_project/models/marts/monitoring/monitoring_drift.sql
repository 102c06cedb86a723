{{ config(tags=['monitoring']) }}
{#- AL-14 drift: one row per (run_date, model_version, scope, feature) of the night's scored population
    against the champion's training reference (crm_scoring.monitoring.drift writes the numbers; the
    thresholds are applied here, once). status: breach when PSI >= drift_psi_breach; warn when PSI >=
    drift_psi_warn or the normalised Wasserstein distance > drift_distance_warn; else ok. A breach is an
    AL-14 row in marts.alerts (int_alerts__monitoring). -#}
with params as (
    select
        {{ policy_param('drift_psi_warn') }}::double precision as psi_warn,
        {{ policy_param('drift_psi_breach') }}::double precision as psi_breach,
        {{ policy_param('drift_distance_warn') }}::double precision as distance_warn
)

select
    d.run_date,
    d.model_name,
    d.model_version,
    d.scope,
    d.feature,
    d.rows_current,
    d.rows_reference,
    d.missing_share_current,
    d.psi,
    d.distance_name,
    d.distance,
    p.psi_breach as psi_threshold,
    p.psi_warn as psi_warn_threshold,
    p.distance_warn as distance_threshold,
    case
        when d.psi >= p.psi_breach then 'breach'
        when d.psi >= p.psi_warn or d.distance > p.distance_warn then 'warn'
        else 'ok'
    end as status,
    'AL-14' as alert_code,
    {{ policy_version() }} as policy_version
from {{ ref('stg_monitoring__drift_metrics') }} as d
cross join params as p
where d.run_date = {{ run_date() }}
