{{ config(**incremental_latest_config('survey_id', 'sent_at')) }}
{#- Survey current state (IN-07): one row per survey in its latest version exported on or before run_date
    (landing contract: a survey re-exported later, e.g. answered after it was sent, replaces the earlier
    version; no updated_at, so the later export, then the later line, wins). The base of every survey
    reader: the activity days, the emotional account (CV-11), the value profile (CV-12), the churn survey
    family, the ticket follow-ups (CM-12), the crisis rules and reports.
    Incremental on survey_id (macro incremental_latest): a forward run merges only the new exports; a rerun
    or backfill rebuilds as of run_date. Before, each of those readers resolved the latest version itself
    through the staging view, a window over every raw version: about 0.6-1.0 s per reader at 300,000
    customers, eight times on the nightly path (docs/scaling.md, "Session 32"). -#}
{{ incremental_latest(ref('stg_crm__surveys'), 'survey_id') }}
