{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'customers'), ['customer_id'], version_column='updated_at') }}
),

renamed as (
    select
        customer_id,
        registered_at,
        status as customer_status,
        country,
        region,
        timezone,
        preferred_language,
        birth_month_day,
        {{ hash_email('email') }} as email_hash,
        {{ hash_phone('phone') }} as phone_hash,
        account_manager_id,
        {#- Optional seed_spec 6.1 column outside the landing contract: a source that sends it as an extra
            column has it kept in _extra by the loader (RL-15 wording). Trimmed and lower-cased; the lists
            map it through the tone_styles seed (unrecognised or absent = 'unknown'). -#}
        lower(nullif(trim(_extra ->> 'expertise_hint'), '')) as expertise_hint,
        coalesce(updated_at, _export_date::timestamp at time zone 'UTC') as updated_at,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
