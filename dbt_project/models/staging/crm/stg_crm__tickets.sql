{#- Staging: every version of a ticket exported on or before var('run_date') (the landing exports are
    deltas; the raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts:
    the latest version per key is resolved by the incremental int_complaints__tickets_latest (macro
    incremental_latest). The ticket text is redacted here, so no later layer sees it unmasked. -#}
with source as (
    select *
    from {{ source('raw', 'tickets') }}
    where _export_date <= {{ run_date() }}
),

renamed as (
    select
        ticket_id,
        customer_id,
        created_at,
        ticket_type,
        channel as ticket_channel,
        priority as source_priority,
        is_urgent,
        complexity,
        severity,
        category_l1,
        module_l2,
        {#- Optional seed_spec 6.5 columns outside the landing contract: a source that sends them as
            extra columns has them kept in _extra by the loader (CM-02 share, CM-05 L3 stack). -#}
        nullif(trim(_extra ->> 'stack_l3'), '') as stack_l3,
        case
            when trim(_extra ->> 'affected_user_share') ~ '^[0-9]*\.?[0-9]+$'
                then trim(_extra ->> 'affected_user_share')::numeric
        end as affected_user_share,
        complaint_type,
        status as ticket_status,
        first_response_at,
        resolved_at,
        closed_at,
        reopened_count,
        crisis_event_id,
        language,
        {{ redact_text('"text"') }} as text_redacted,
        coalesce(updated_at, _export_date::timestamp at time zone 'UTC') as updated_at,
        _export_date as exported_on,
        _source_file as source_file,
        _line_no as source_line_no
    from source
)

select * from renamed
