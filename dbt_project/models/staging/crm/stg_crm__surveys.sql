{#- Staging: latest version per key as of var('run_date'), renamed and masked (ST-06). Only renames/casts:
    the contract's columns (macro staging_view), the comment redacted. -#}
{{ staging_view('surveys', columns={'comment': redact_text('comment') ~ ' as comment_redacted'}) }}
