{#- Compensation list for var('run_date') (seed_spec 3.8 / 8): the candidates the ledger let through
    (decision listed or over_cap), one row per (customer, ledger_key). Transparency (CP-11): content,
    expected arrival (= due_by) and usage conditions on every row; due_by = trigger date +
    compensation_due_days (CP-13; null while the [U] parameter is unset). CP-12: T1 complaint rows are
    red-flagged with a closed-loop deadline. CP-16: script_template. notify_channel: the first channel of
    channel_matrix segment compensation_notice the customer consents to for service contact (null = no
    consented channel: notify at the next inbound contact). Over-cap rows stay, needing approval.
    amount_cap: the cap of the row's compensation_matrix package (its tier x severity row; DQ-11 checks
    amount <= amount_cap when set). The CP-11 progress notification is tracked after publication in
    marts.compensation_notifications (DQ-11 alert when overdue).
    CH-06: trigger_text says why the row exists in words; reasons = the customer's top-3 churn reasons in words,
    else the trigger text; value_basis = the value the customer's tier and risk were read on (CV-06). -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

cand as (
    select * from {{ ref('int_lists__compensation_listed') }}
),

cust as (
    select * from {{ ref('int_lists__customer_profile') }}
),

rl05 as (
    select exists (select 1 from {{ policy_rows('retention_rules', ['rule_code']) }} as r
                   where r.rule_code = 'RL-05' and r.enabled) as tier_treatment
),

packages as (
    select m.package_code, m.cap
    from {{ policy_rows('compensation_matrix', ['trigger', 'tier', 'severity', 'complaint_type']) }} as m
),

notice_options as (
    select m.tier, m.channel, m.channel_rank, m.team
    from {{ policy_rows('channel_matrix', ['segment', 'tier', 'channel']) }} as m
    where m.segment = 'compensation_notice' and m.enabled
),

notify as (
    select distinct on (c.customer_id)
        c.customer_id, o.channel
    from (select distinct customer_id from cand) as c
    join cust as cu on cu.customer_id = c.customer_id
    cross join rl05
    join notice_options as o
      on o.tier = 'any' or (rl05.tier_treatment and o.tier = cu.value_tier)
    join {{ ref('int_lists__consent') }} as cs
      on cs.customer_id = c.customer_id and cs.purpose = 'service' and cs.channel = o.channel and cs.is_granted
    order by c.customer_id, (o.tier = 'any'), o.channel_rank
)

select
    c.run_date::date as run_date,
    c.customer_id::text as customer_id,
    c.rule_code::text as rule_code,
    c.trigger_type::text as trigger_type,
    c.ticket_id::text as ticket_id,
    c.crisis_event_id::text as crisis_event_id,
    c.round_no::integer as round_no,
    c.ledger_key::text as ledger_key,
    c.package_code::text as package_code,
    c.content::text as content,
    c.amount::numeric(18, 2) as amount,
    c.points::bigint as points,
    c.benefit_days::integer as benefit_days,
    p.reporting_currency::text as currency,
    {{ utc_date('c.trigger_at') }}::date as trigger_date,
    ({{ utc_date('c.trigger_at') }} + p.compensation_due_days)::date as due_by,
    ({{ utc_date('c.trigger_at') }} + p.compensation_due_days)::date as expected_arrival_date,
    c.usage_conditions_code::text as usage_conditions_code,
    c.script_template::text as script_template,
    n.channel::text as notify_channel,
    (c.requires_approval or c.decision = 'over_cap')::boolean as requires_approval,
    (case when c.decision = 'over_cap' then 'needs_approval' else 'ready' end)::text as status,
    (cu.value_tier = 'T1_DIAMOND' and c.trigger_type in ('complaint', 'second_round', 'emotion_soothing'))::boolean
        as red_flag,
    (case when cu.value_tier = 'T1_DIAMOND' and c.trigger_type in ('complaint', 'second_round', 'emotion_soothing')
          then c.trigger_at + make_interval(hours => p.high_value_red_flag_hours) end)::timestamptz as red_flag_due_at,
    cu.value_tier::text as value_tier,
    cu.model_version::text as model_version,
    cu.mlflow_run_id::text as mlflow_run_id,
    p.policy_version::text as policy_version,
    pk.cap::numeric(18, 2) as amount_cap,
    {#- CH-06: the trigger in words (compensation_matrix.trigger_text), and the reasons: the customer's top-3
        churn reasons in words when scored with reasons, else the trigger -#}
    c.trigger_text::text as trigger_text,
    coalesce(rs.reasons, c.trigger_text)::text as reasons,
    rs.reason_codes::text as reason_codes,
    cu.value_basis::text as value_basis
from cand as c
cross join p
left join cust as cu on cu.customer_id = c.customer_id
left join {{ ref('int_lists__customer_reasons') }} as rs on rs.customer_id = c.customer_id
left join notify as n on n.customer_id = c.customer_id
left join packages as pk on pk.package_code = c.package_code
