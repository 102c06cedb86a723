{#- DQ-17: versions and effective dates are ordered: per parameter key, a later effective_from never
    carries an older policy_version (versions compare as text, e.g. 2026.1 < 2026.2). -#}
select key, effective_from, policy_version
from (
    select
        key,
        effective_from,
        policy_version,
        lag(policy_version) over (partition by key order by effective_from) as previous_version
    from {{ ref('policy_parameters') }}
) as v
where previous_version is not null and policy_version < previous_version
