{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts. -#}
with source as (
    {{ latest_version(source('raw', 'crisis_events'), ['crisis_event_id']) }}
),

renamed as (
    select
        crisis_event_id,
        crisis_type,
        scope_level,
        opinion_level,
        started_at,
        resolved_at,
        description,
        _export_date as exported_on,
        _source_file as source_file
    from source
)

select * from renamed
