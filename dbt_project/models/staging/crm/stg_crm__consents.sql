{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts:
    the contract's columns (macro staging_view). -#}
{{ staging_view('consents', columns={
    'channel': 'channel as consent_channel',
    'status': 'status as consent_status',
}) }}
