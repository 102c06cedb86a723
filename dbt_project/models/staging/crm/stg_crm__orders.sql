{#- Staging: every version of an order exported on or before var('run_date') (the landing exports are
    deltas; the raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts:
    the latest version per key is resolved by the incremental fct_orders (macro incremental_latest). -#}
with source as (
    select *
    from {{ source('raw', 'orders') }}
    where _export_date <= {{ run_date() }}
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
        _source_file as source_file,
        _line_no as source_line_no
    from source
)

select * from renamed
