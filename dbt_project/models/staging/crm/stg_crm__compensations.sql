{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts:
    the contract's columns (macro staging_view); a compensation without a round number is round 1. -#}
{{ staging_view('compensations', columns={'round_no': 'coalesce(round_no, 1) as round_no'}) }}
