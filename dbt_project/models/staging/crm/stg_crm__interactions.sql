{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'interactions'), ['event_id']) }}
),

renamed as (
    select
        event_id,
        customer_id,
        event_ts,
        event_type,
        channel as interaction_channel,
        page_type,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
