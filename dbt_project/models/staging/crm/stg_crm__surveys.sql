{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'surveys'), ['survey_id']) }}
),

renamed as (
    select
        survey_id,
        customer_id,
        survey_type,
        trigger_type,
        related_ticket_id,
        related_crisis_event_id,
        sent_at,
        responded_at,
        score,
        {{ redact_text('comment') }} as comment_redacted,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
