{{ config(tags=['reporting']) }}
{#- Rule activity (issue 3, DQ-17): one row per (run_date, rule_code) for every rule of the rule-bearing
    policy seeds (retention_rules RL-xx, compensation_matrix CP-xx, complaint_rules CM-xx, alert_rules AL-xx,
    as folded by int_policy__rule_readiness): is it enabled, can it run, why not, and how many rows and
    customers it produced on the run date. It reads the lists build and the alerts, and no list reads it: the
    nightly DAG builds it after publishing, in the dbt_reporting step (selector nightly_reporting).
    "Fired" per rule family (any decision counts: a suppressed or superseded candidate still fired):
      AL    marts.alerts rows of the code on the run date.
      RL    lists_build.retention_candidates rows of the rule; the modifiers count the rows they changed:
            RL-05 candidates whose channel came from a tier-specific channel_matrix row, RL-06 candidates
            whose channel came from channel_matrix, RL-15 retention_list rows with a tone, RL-19 candidates
            suppressed by consent / do-not-contact / cooldown / caps / de-dup, RL-20 ranked retention_list rows.
      CP    lists_build.compensation_candidates rows of the rule.
      CM    rows the rule produced in its complaint mart: CM-01 fct_tickets, CM-02 tickets with a validated
            or derived priority, CM-03 tickets with an effective SLA target, CM-04 sla_compliance_daily,
            CM-05 tickets with a tag priority weight, CM-06 customer_complaints, CM-07
            complaint_problems_monthly, CM-08 secondary contacts, CM-09 tickets with an emotion, CM-12
            tickets with a tracked CSAT or revisit survey, CM-14 complaint_concentration_daily, CM-15
            crisis-linked tickets.
    blocked_reason: 'disabled' (and the unset parameters), 'missing parameter ...', or the DQ-06 NLP gate:
    when no sentiment model passed the gate on the run date (stg_enrichment__quality_alerts) the rules that
    need sentiment / emotion labels get nothing to work on (nlp_gate_fail_action withhold: labels empty;
    flag: labels kept but quality_gate_passed = false); DQ-11 'no notice deadline' while neither
    compensation_due_days nor compensation_notice_max_days is set.
    Policy profile (seed_spec 0.3): starter_params lists the parameters a rule runs on that are labelled starter
    defaults, policy_profile the profile of the build, off_reason sums up why a rule did nothing (disabled,
    unset, gate, no data); `crm policy status` prints this mart. -#}
with readiness as (
    select * from {{ ref('int_policy__rule_readiness') }}
),

names as (
    select rule_code, condition as rule_name from {{ policy_rows('retention_rules', ['rule_code']) }} as r
    union all
    select rule_code, min(trigger) from {{ policy_rows('compensation_matrix', ['trigger', 'tier', 'severity', 'complaint_type']) }} as m
    group by rule_code
    union all
    select rule_code, rule_name from {{ policy_rows('complaint_rules', ['rule_code']) }} as c
    union all
    select alert_code, min(rule_name) from {{ policy_rows('alert_rules', ['alert_code', 'level']) }} as a
    group by alert_code
),

{#- Rules whose SQL reads sentiment / emotion labels of enrichment.text_sentiment (ST-04): what they read,
    not a threshold. AL-10 and RL-15 also use emotion but fire without it (other points / tone sources). -#}
label_rules as (
    select rule_code
    from (values ('AL-01'), ('AL-02'), ('AL-13'), ('CM-09'), ('RL-14'), ('CP-09')) as v (rule_code)
),

gate as (
    select
        exists (select 1 from {{ ref('stg_enrichment__quality_alerts') }} as q where q.alert_code = 'DQ-06')
            as failed,
        {{ policy_param('nlp_gate_fail_action', 'text') }} as fail_action,
        {#- DQ-11 flags overdue progress notifications: with neither deadline set nothing can be overdue. -#}
        {{ policy_param('compensation_due_days', 'integer') }} is null
            and {{ policy_param('compensation_notice_max_days', 'integer') }} is null as no_notice_deadline
),

tickets as (
    select * from {{ ref('fct_tickets') }} where run_date = {{ run_date() }}
),

ticket_counts as (
    select
        count(*) as cm01_rows,
        count(distinct customer_id) as cm01_customers,
        count(*) filter (where priority is not null and priority_check is not null) as cm02_rows,
        count(distinct customer_id) filter (where priority is not null and priority_check is not null) as cm02_customers,
        count(*) filter (where applicable_sla_targets > 0) as cm03_rows,
        count(distinct customer_id) filter (where applicable_sla_targets > 0) as cm03_customers,
        count(*) filter (where tag_priority_weight is not null) as cm05_rows,
        count(distinct customer_id) filter (where tag_priority_weight is not null) as cm05_customers,
        count(*) filter (where is_secondary_contact) as cm08_rows,
        count(distinct customer_id) filter (where is_secondary_contact) as cm08_customers,
        count(*) filter (where emotion_class is not null) as cm09_rows,
        count(distinct customer_id) filter (where emotion_class is not null) as cm09_customers,
        count(*) filter (where csat_sent_at is not null or revisit_sent_at is not null) as cm12_rows,
        count(distinct customer_id) filter (where csat_sent_at is not null or revisit_sent_at is not null) as cm12_customers,
        count(*) filter (where linked_crisis_event_id is not null) as cm15_rows,
        count(distinct customer_id) filter (where linked_crisis_event_id is not null) as cm15_customers
    from tickets
),

complaint_fired as (
    select v.rule_code, v.fired_rows, v.fired_customers
    from ticket_counts as t
    cross join lateral (
        values
            ('CM-01', t.cm01_rows, t.cm01_customers),
            ('CM-02', t.cm02_rows, t.cm02_customers),
            ('CM-03', t.cm03_rows, t.cm03_customers),
            ('CM-05', t.cm05_rows, t.cm05_customers),
            ('CM-08', t.cm08_rows, t.cm08_customers),
            ('CM-09', t.cm09_rows, t.cm09_customers),
            ('CM-12', t.cm12_rows, t.cm12_customers),
            ('CM-15', t.cm15_rows, t.cm15_customers)
    ) as v (rule_code, fired_rows, fired_customers)
    union all
    select 'CM-04', count(*), null::bigint
    from {{ ref('sla_compliance_daily') }} where run_date = {{ run_date() }}
    union all
    select 'CM-06', count(*), count(distinct customer_id)
    from {{ ref('customer_complaints') }} where run_date = {{ run_date() }}
    union all
    select 'CM-07', count(*), null::bigint
    from {{ ref('complaint_problems_monthly') }} where run_date = {{ run_date() }}
    union all
    select 'CM-14', count(*), null::bigint
    from {{ ref('complaint_concentration_daily') }} where run_date = {{ run_date() }}
),

{#- An alert's customer: its scope names one (customer:<id>), or a ticket / text of one. -#}
alert_fired as (
    select
        a.alert_code as rule_code,
        count(*) as fired_rows,
        nullif(count(distinct coalesce(
            case when a.scope like 'customer:%' then substr(a.scope, length('customer:') + 1) end,
            t.customer_id,
            x.customer_id)), 0) as fired_customers
    from {{ ref('alerts') }} as a
    left join tickets as t on a.scope = 'ticket:' || t.ticket_id
    left join {{ ref('stg_enrichment__text_sentiment') }} as x on a.scope = x.source_table || ':' || x.source_id
    where a.run_date = {{ run_date() }}
    group by a.alert_code
),

retention as (
    select c.*, r.channel_segment
    from {{ ref('retention_candidates') }} as c
    left join {{ policy_rows('retention_rules', ['rule_code']) }} as r on r.rule_code = c.rule_code
    where c.run_date = {{ run_date() }}
),

matrix as (
    select * from {{ policy_rows('channel_matrix', ['segment', 'tier', 'channel']) }} as m where m.enabled
),

tiers as (
    select customer_id, value_tier from {{ ref('customer_value') }} where run_date = {{ run_date() }}
),

retention_list as (
    select * from {{ ref('retention_list') }} where run_date = {{ run_date() }}
),

retention_fired as (
    select rule_code, count(*) as fired_rows, count(distinct customer_id) as fired_customers
    from retention
    group by rule_code
    union all
    select 'RL-05', count(*), count(distinct r.customer_id)
    from retention as r
    join tiers as t on t.customer_id = r.customer_id
    where exists (select 1 from matrix as m
                  where m.segment = r.channel_segment and m.tier = t.value_tier and m.channel = r.channel)
    union all
    select 'RL-06', count(*), count(distinct r.customer_id)
    from retention as r
    where exists (select 1 from matrix as m where m.segment = r.channel_segment and m.channel = r.channel)
    union all
    select 'RL-15', count(*), count(distinct customer_id)
    from retention_list
    where tone is not null
    union all
    select 'RL-19', count(*), count(distinct customer_id)
    from retention
    where decision = 'suppressed'
    union all
    select 'RL-20', count(*), count(distinct customer_id)
    from retention_list
    where priority_rank is not null
),

compensation_fired as (
    select rule_code, count(*) as fired_rows, count(distinct customer_id) as fired_customers
    from {{ ref('compensation_candidates') }}
    where run_date = {{ run_date() }}
    group by rule_code
),

fired as (
    select rule_code, sum(fired_rows) as fired_rows, sum(fired_customers) as fired_customers
    from (
        select * from complaint_fired
        union all select * from alert_fired
        union all select * from retention_fired
        union all select * from compensation_fired
    ) as f
    group by rule_code
)

select
    {{ run_date() }} as run_date,
    r.rule_code,
    r.rule_family,
    n.rule_name,
    r.is_enabled as enabled,
    r.is_runnable as runnable,
    r.missing_params,
    case
        when not r.is_enabled and r.missing_params <> '' then 'disabled; missing parameter ' || r.missing_params
        when not r.is_enabled then 'disabled'
        when r.missing_params <> '' then 'missing parameter ' || r.missing_params
        when l.rule_code is not null and g.failed and g.fail_action = 'flag'
            then 'DQ-06 gate failed: emotion labels flagged quality_gate_passed = false'
        when l.rule_code is not null and g.failed then 'DQ-06 gate withheld emotion labels'
        when r.rule_code = 'DQ-11' and g.no_notice_deadline
            then 'no notice deadline: compensation_due_days and compensation_notice_max_days unset'
    end as blocked_reason,
    coalesce(f.fired_rows, 0)::bigint as fired_rows,
    (case when f.rule_code is null then 0 else f.fired_customers end)::bigint as fired_customers,
    coalesce(f.fired_rows, 0) > 0 as has_fired,
    {{ policy_version() }} as policy_version,
    r.starter_params,
    r.policy_profile,
    {#- why a rule did nothing, in one word (crm policy status reads it): disabled (switched off in its seed, or
        by the strict profile), unset (enabled but a parameter is missing), gate (DQ-06 / DQ-11 blocker), no data
        (runnable, nothing matched on the run date); null = it fired -#}
    (case
        when not r.is_enabled then 'disabled'
        when r.missing_params <> '' then 'unset'
        when coalesce(f.fired_rows, 0) > 0 then null
        when (l.rule_code is not null and g.failed) or (r.rule_code = 'DQ-11' and g.no_notice_deadline) then 'gate'
        when coalesce(f.fired_rows, 0) = 0 then 'no data'
    end)::text as off_reason
from readiness as r
cross join gate as g
left join names as n on n.rule_code = r.rule_code
left join label_rules as l on l.rule_code = r.rule_code
left join fired as f on f.rule_code = r.rule_code
