{#- Staging: every version of a survey exported on or before var('run_date') (the landing exports are deltas; the
    raw layer keeps each export's version), renamed and masked (ST-06). Only renames / casts (macro
    staging_view): the latest version per survey is resolved by the incremental int_feedback__surveys_latest
    (macro incremental_latest), which every survey reader uses; the comment is redacted here, so no later
    layer sees it unmasked. -#}
{{ staging_view('surveys', every_version=true, columns={'comment': redact_text('comment') ~ ' as comment_redacted'}) }}
