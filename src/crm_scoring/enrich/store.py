"""The enrichment schema: DDL and the set-based SQL the task runs (candidates, upsert, clean-up)."""

from __future__ import annotations

DDL = """
create schema if not exists enrichment;
create table if not exists enrichment.text_sentiment (
    source_table text not null,
    source_id text not null,
    customer_id text,
    text_ts timestamptz,
    language text not null,
    redacted_text text,
    polarity text,
    polarity_score double precision,
    emotion_class text,
    crisis_triage_class text,
    has_risk_keyword boolean not null,
    has_empathy_keyword boolean not null,
    model_name text not null,
    model_version text not null,
    enriched_for_date date not null,
    text_sha256 text not null,
    quality_gate_passed boolean not null,
    policy_version text,
    enriched_at timestamptz not null,
    primary key (source_table, source_id),
    check (polarity_score between -1 and 1)
);
create table if not exists enrichment.model_quality (
    run_date date not null,
    model_name text not null,
    model_version text not null,
    eval_dataset text not null,
    eval_items integer not null,
    accuracy double precision not null,
    negative_f1 double precision not null,
    majority_baseline double precision,
    gate_threshold double precision,
    passed_gate boolean not null,
    action text not null,
    texts_per_second double precision,
    policy_version text,
    evaluated_at timestamptz not null,
    primary key (run_date, model_name, model_version, eval_dataset)
);
-- per-set report columns (issue 10): one row per model x eval_dataset (x task), the gate row has role 'gate'
alter table enrichment.model_quality add column if not exists task text;
alter table enrichment.model_quality add column if not exists domain text;
alter table enrichment.model_quality add column if not exists role text;
alter table enrichment.model_quality add column if not exists macro_f1 double precision;
alter table enrichment.model_quality add column if not exists roc_auc double precision;
create table if not exists enrichment.quality_alerts (
    run_date date not null,
    alert_code text not null,
    level text not null,
    scope text not null,
    metric_value double precision,
    threshold double precision,
    message text not null,
    policy_version text,
    raised_at timestamptz not null,
    primary key (run_date, alert_code, scope)
);
"""

# Latest version per key exported on or before the run date, same ordering as the dbt macro
# latest_version(); only non-empty texts. Language: the ticket's own code, else detected by script.
SOURCE_TEXTS = """
create temporary table _enrich_source on commit drop as
with tickets as (
    select distinct on (ticket_id)
           'tickets'::text as source_table, ticket_id as source_id, customer_id,
           created_at as text_ts, nullif(trim(language), '') as language, "text" as body
      from raw.tickets
     where _export_date <= %(run_date)s
     order by ticket_id,
              coalesce(updated_at, _export_date::timestamp at time zone 'UTC') desc nulls last,
              _export_date desc, _line_no desc
), surveys as (
    select distinct on (survey_id)
           'surveys'::text as source_table, survey_id as source_id, customer_id,
           coalesce(responded_at, sent_at) as text_ts, null::text as language, "comment" as body
      from raw.surveys
     where _export_date <= %(run_date)s
     order by survey_id, _export_date desc, _line_no desc
)
select source_table, source_id, customer_id, text_ts,
       coalesce(language, case when body ~ '[\u3400-\u9fff]' then 'zh-CN' else 'en' end) as language,
       body,
       encode(sha256(convert_to(body, 'UTF8')), 'hex') as text_sha256
  from (select * from tickets union all select * from surveys) as s
 where nullif(trim(body), '') is not null
"""

# Rows whose text, model or gate status differs from what is stored (the incremental part).
CHANGED = """
select s.source_table, s.source_id, s.customer_id, s.text_ts, s.language, s.body, s.text_sha256
  from _enrich_source as s
  left join enrichment.text_sentiment as e
    on e.source_table = s.source_table and e.source_id = s.source_id
 where e.source_id is null
    or e.text_sha256 <> s.text_sha256
    or (e.model_name, e.model_version, e.quality_gate_passed)
       is distinct from (case when s.language like 'zh%%' then %(zh_model)s else %(en_model)s end,
                         case when s.language like 'zh%%' then %(zh_version)s else %(en_version)s end,
                         case when s.language like 'zh%%' then %(zh_gate)s else %(en_gate)s end)
 order by s.source_table, s.source_id
"""

# Keys that no longer have a text as of the run date (text blanked in a later export, or a rerun of
# an earlier date): their enrichment row goes.
DELETE_STALE = """
delete from enrichment.text_sentiment as e
 where not exists (select 1 from _enrich_source as s
                    where s.source_table = e.source_table and s.source_id = e.source_id)
"""

COLUMNS = (
    "source_table",
    "source_id",
    "customer_id",
    "text_ts",
    "language",
    "redacted_text",
    "polarity",
    "polarity_score",
    "emotion_class",
    "crisis_triage_class",
    "has_risk_keyword",
    "has_empathy_keyword",
    "model_name",
    "model_version",
    "enriched_for_date",
    "text_sha256",
    "quality_gate_passed",
    "policy_version",
    "enriched_at",
)

STAGE = "create temporary table _enrich_new (like enrichment.text_sentiment) on commit drop"

UPSERT = f"""
insert into enrichment.text_sentiment ({", ".join(COLUMNS)})
select {", ".join(COLUMNS)} from _enrich_new
on conflict (source_table, source_id) do update set
{", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in ("source_table", "source_id"))}
"""
