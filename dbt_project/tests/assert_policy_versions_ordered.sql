{#- DQ-17: versions and effective dates are ordered: per parameter key, a later effective_from never
    carries an older policy_version. Versions are dot-separated whole numbers and compare as versions,
    not as text (2026.9 < 2026.10, macro policy_version_key); a malformed version is reported too. -#}
with v as (
    select
        key,
        effective_from,
        policy_version,
        policy_version ~ '^[0-9]+(\.[0-9]+)*$' as well_formed
    from {{ ref('policy_parameters') }}
),

ordered as (
    select
        key,
        effective_from,
        policy_version,
        lag({{ policy_version_key('policy_version') }}) over (partition by key order by effective_from)
            as previous_version
    from v
    where (select bool_and(well_formed) from v)
)

select key, effective_from, policy_version, 'malformed policy_version' as problem
from v
where not well_formed
union all
select key, effective_from, policy_version, 'older than the version before it' as problem
from ordered
where previous_version is not null and {{ policy_version_key('policy_version') }} < previous_version
