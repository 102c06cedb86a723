{#- Staging: every version of an interaction exported on or before var('run_date') (the landing exports are
    deltas; the raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts
    (macro staging_view): the latest version per key is resolved by the incremental fct_interactions
    (macro incremental_latest). -#}
{{ staging_view('interactions', every_version=true, columns={'channel': 'channel as interaction_channel'}) }}
