{#- Staging: every version of an interaction exported on or before var('run_date') (the landing exports are
    deltas; the raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts:
    the latest version per key is resolved by the incremental fct_interactions (macro incremental_latest). -#}
with source as (
    select *
    from {{ source('raw', 'interactions') }}
    where _export_date <= {{ run_date() }}
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
        _source_file as source_file,
        _line_no as source_line_no
    from source
)

select * from renamed
