{#- Staging: every version of a ticket exported on or before var('run_date') (the landing exports are
    deltas; the raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts
    (macro staging_view; a missing updated_at defaults to the export date): the latest version per key is
    resolved by the incremental int_complaints__tickets_latest (macro incremental_latest). The ticket
    text is redacted here, so no later layer sees it unmasked.
    stack_l3, affected_user_share: optional seed_spec 6.5 columns outside the landing contract: a source
    that sends them as extra columns has them kept in _extra by the loader (CM-02 share, CM-05 L3 stack). -#}
{%- set affected_user_share -%}
    case
            when trim(_extra ->> 'affected_user_share') ~ '^[0-9]*\.?[0-9]+$'
                then trim(_extra ->> 'affected_user_share')::numeric
        end as affected_user_share
{%- endset -%}
{{ staging_view('tickets', every_version=true, columns={
    'channel': 'channel as ticket_channel',
    'priority': 'priority as source_priority',
    'status': 'status as ticket_status',
    'text': redact_text('"text"') ~ ' as text_redacted',
}, add_after={
    'module_l2': ["nullif(trim(_extra ->> 'stack_l3'), '') as stack_l3", affected_user_share],
}) }}
