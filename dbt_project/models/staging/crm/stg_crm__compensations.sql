{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'compensations'), ['compensation_id']) }}
),

renamed as (
    select
        compensation_id,
        customer_id,
        ticket_id,
        crisis_event_id,
        coalesce(round_no, 1) as round_no,
        compensation_type,
        amount,
        points,
        issued_at,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
