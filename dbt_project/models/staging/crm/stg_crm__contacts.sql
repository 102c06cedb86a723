{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'contacts'), ['contact_id']) }}
),

renamed as (
    select
        contact_id,
        customer_id,
        contact_ts,
        channel as contact_channel,
        purpose,
        list_run_date,
        campaign_id,
        ab_variant,
        outcome,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
