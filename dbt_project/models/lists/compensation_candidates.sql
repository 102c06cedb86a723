{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='run_date',
          on_schema_change='append_new_columns', post_hook='analyze {{ this }}',
          pre_hook="{% if is_incremental() %}delete from {{ this }} where run_date = {{ run_date() }}{% endif %}") }}
{#- The pre-hook clears the run date first: delete+insert deletes only the keys of the new rows, so a rerun that
    finds nothing (e.g. under the strict policy profile) would otherwise keep the earlier run's rows. -#}
{#- Every compensation trigger found on var('run_date') (seed_spec 3.8), with its ledger decision. Kept per
    run_date (incremental) as the audit of what was considered and why a row did or did not reach the list.
    Triggers, one small model per rule family (models/intermediate/lists/compensation/, each with dbt unit
    tests): ticket (CP-01 resolved complaint, CP-02 second round, CP-09 emotion) and crisis (CP-03 outage
    points, CP-04 severe opinion, CP-05 post-crisis loyalty, CP-06 product safety, CP-07 data breach, CP-08
    preventive), over the enabled matrix rows (int_lists__compensation_matrix) and the ledger
    (int_lists__compensation_ledger).
    A crisis is "in scope" while active or resolved within post_crisis_offer_window_days.
    Ledger (CP-14): ledger_key = ticket:<id>:<round> | crisis:<id>:<round> | crisis_points:<id>:<round> (CP-03
    loyalty points: a package of its own, so a severe outage grants both the CP-04 compensation and the points;
    a CRM grant of compensation_type points for the crisis counts here) | crisis_loyalty:<id>:1 |
    crisis_preventive:<id>:1. A key already in the CRM's compensations (issued before the end of the run
    date) or in an earlier published compensation list is `already_compensated`; within a day the matrix
    priority picks one rule per key (others `superseded`). Per-customer cap over 365 days (CP-14):
    compensation_cap_per_customer_365d:<value tier> when set, else compensation_cap_per_customer_365d; rows
    pushing the total over it are `over_cap` and need approval.
    Matrix rows: a package applies to the customer's value tier or to 'any' tier (the tier row wins), so
    amounts scale with the tier. Only rules int_policy__rule_readiness enables under the policy profile, and
    only matrix rows enabled under it (strict: no row tagged starter), are read. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

matrix as (
    select * from {{ ref('int_lists__compensation_matrix') }}
),

tier_caps as (
    select split_part(pp.key, ':', 2) as tier, {{ policy_value('pp') }}::numeric as cap_365d
    from {{ policy_rows('policy_parameters', ['key']) }} as pp
    where pp.key like 'compensation\_cap\_per\_customer\_365d:%'
),

ledger_rows as (
    select * from {{ ref('int_lists__compensation_ledger') }}
),

ledger as (
    select distinct customer_id, ledger_key from ledger_rows
),

found as (
    select * from {{ ref('int_lists__compensation_hits_ticket') }}
    union all
    select * from {{ ref('int_lists__compensation_hits_crisis') }}
),

keyed as (
    select
        f.*,
        case
            when f.trigger_type = 'post_crisis_loyalty' then 'crisis_loyalty:' || f.crisis_event_id
            when f.trigger_type = 'preventive' then 'crisis_preventive:' || f.crisis_event_id
            when f.trigger_type = 'crisis:service_outage' then 'crisis_points:' || f.crisis_event_id
            when f.ticket_id is not null then 'ticket:' || f.ticket_id
            else 'crisis:' || f.crisis_event_id
        end || ':' || f.round_no as ledger_key
    from found as f
    where f.amount is not null or f.points is not null or f.benefit_days is not null
),

decided as (
    select
        k.*,
        m.priority as matrix_priority,
        m.components as content,
        m.usage_conditions_code,
        m.script_template,
        m.trigger_text as trigger_template,
        m.requires_approval,
        exists (select 1 from ledger as l where l.customer_id = k.customer_id and l.ledger_key = k.ledger_key)
            as already_compensated,
        row_number() over (partition by k.customer_id, k.ledger_key
                           order by m.priority, k.rule_code, k.package_code) as key_rank
    from keyed as k
    join matrix as m on m.package_code = k.package_code
),

granted_365d as (
    select customer_id, sum(amount) as amount_365d
    from (
        select customer_id, amount from ledger_rows
        where source = 'crm' and issued_at >= {{ run_end() }} - interval '365 days'
        union all
        select customer_id, amount from ledger_rows
        where source = 'platform' and run_date > {{ run_date() }} - 365
    ) as g
    group by customer_id
),

capped as (
    select
        d.*,
        coalesce(g.amount_365d, 0)
            + sum(coalesce(d.amount, 0)) over (
                partition by d.customer_id, (not d.already_compensated and d.key_rank = 1)
                order by d.matrix_priority, d.ledger_key, d.rule_code
                rows between unbounded preceding and current row) as cumulative_amount_365d
    from decided as d
    left join granted_365d as g on g.customer_id = d.customer_id
)

select
    {{ run_date() }} as run_date,
    c.customer_id,
    c.rule_code,
    c.trigger_type,
    c.ticket_id,
    c.crisis_event_id,
    c.round_no,
    c.ledger_key,
    c.package_code,
    c.content,
    c.amount::numeric(18, 2) as amount,
    c.points::bigint as points,
    c.benefit_days,
    c.trigger_at,
    c.matrix_priority,
    c.usage_conditions_code,
    c.script_template,
    {#- the trigger in words (CH-06 / CP-11): compensation_matrix.trigger_text with the row's ids and date -#}
    replace(replace(replace(c.trigger_template, '{ticket}', coalesce(c.ticket_id, '')),
                    '{crisis}', coalesce(c.crisis_event_id, '')),
            '{date}', {{ utc_date('c.trigger_at') }}::text)::text as trigger_text,
    c.requires_approval,
    c.cumulative_amount_365d::numeric(18, 2) as cumulative_amount_365d,
    case
        when c.already_compensated then 'already_compensated'
        when c.key_rank > 1 then 'superseded'
        when coalesce(tc.cap_365d, p.compensation_cap_per_customer_365d) is not null
             and c.cumulative_amount_365d > coalesce(tc.cap_365d, p.compensation_cap_per_customer_365d)
            then 'over_cap'
        else 'listed'
    end as decision,
    p.policy_version
from capped as c
cross join p
left join {{ ref('int_lists__customer_profile') }} as cu on cu.customer_id = c.customer_id
left join tier_caps as tc on tc.tier = cu.value_tier
where {{ require_rule_params(['CP-01', 'CP-02', 'CP-03', 'CP-04', 'CP-05', 'CP-06', 'CP-07', 'CP-08', 'CP-09']) }}
