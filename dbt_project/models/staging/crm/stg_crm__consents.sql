{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'consents'), ['customer_id', 'purpose', 'channel', 'status_ts'], version_column='status_ts') }}
),

renamed as (
    select
        customer_id,
        purpose,
        channel as consent_channel,
        status as consent_status,
        status_ts,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
