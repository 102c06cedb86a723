{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'orders'), ['order_id'], version_column='updated_at') }}
),

renamed as (
    select
        order_id,
        customer_id,
        order_ts,
        status as order_status,
        net_amount,
        gross_amount,
        discount_amount,
        refund_amount,
        currency,
        channel as order_channel,
        points_earned,
        coalesce(updated_at, _export_date::timestamp at time zone 'UTC') as updated_at,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
