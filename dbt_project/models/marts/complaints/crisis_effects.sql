{#- RP-03 crisis KPIs per event started by the run date that crisis_recovery does not measure: the
    raw counts and rates behind churn uplift, loyalty uplift, win-back revival and recurrence of the same
    problem (crisis_kpis judges them against their targets). Windows (int_crisis__windows), with
    W = crisis_kpi_window_days: before = [start - W, start), the window before that = [start - 2W,
    start - W), after = W days from the resolution (from the start while unresolved), cut at the run date
    (is_mature once it has passed); purchases per window: int_crisis__affected_purchases.
      churn        (000-1a "a trust crisis raises churn by 22 %", vs pre-crisis): of the affected
                   customers with a non-cancelled order in a window, the share with none in the next one;
                   before = [start - 2W, start - W) -> before, after = before -> after;
                   churn_uplift = churn_post / churn_pre - 1 (relative, as the claim).
      loyalty      (000-1e "crisis-repair member: loyalty +28 % vs 12 %", CP-05): repurchase rate (share
                   with a non-cancelled order) before vs after, of the affected customers on a published
                   CP-05 compensation list of the event (recipients) and of the others;
                   loyalty_uplift = after / before - 1.
      win-back     (000-1c "revival +18 %", RL-01 with the crisis coupon): customers on a published RL-01
                   list while the event was active (list date from its start to its resolution), first
                   listing, treated (ready) vs hold-out; revival = any activity (RP-15's reactivation)
                   within outcome_window_days after the list date; uplift = treated / hold-out - 1.
      recurrence   (000-1e "health check: recurrence -70 %", RL-11): customers on a published RL-11 list of
                   the event, first listing, treated vs hold-out; recurrence = a complaint within
                   outcome_window_days after the list date of a complaint_type the customer had
                   complained about before it; reduction = 1 - treated / hold-out.
    List effects are mature once every list that can still join has had its outcome window (RL-01: the
    event resolved outcome_window_days ago; RL-11: post_crisis_offer_window_days + outcome_window_days).
    Observational: churn and loyalty compare the same customers over time (seasonality included); only
    the list effects have a randomised control (CH-08 hold-out). Parameters through scalar subqueries,
    never a cross join (enable_nestloop = off would cost it as disabled and switch on JIT). -#}
with params as (
    select
        {{ policy_param('outcome_window_days', 'integer') }} as outcome_days,
        {{ policy_param('post_crisis_offer_window_days', 'integer') }} as offer_days,
        {{ policy_version() }} as policy_version
),

events as (
    select * from {{ ref('int_crisis__windows') }}
),

recipients as (
    select distinct c.crisis_event_id, c.customer_id
    from {{ source('published_lists', 'compensation_list') }} as c
    where c.rule_code = 'CP-05'
      and c.run_date < {{ run_date() }}
),

customer_windows as (
    select
        b.crisis_event_id,
        count(*) filter (where b.bought_base) as churn_base_pre,
        count(*) filter (where b.bought_base and not b.bought_pre) as churned_pre,
        count(*) filter (where b.bought_pre) as churn_base_post,
        count(*) filter (where b.bought_pre and not b.bought_post) as churned_post,
        count(r.customer_id) as cp05_recipients,
        avg(b.bought_pre::int) filter (where r.customer_id is not null) as repurchase_pre_recipients,
        avg(b.bought_post::int) filter (where r.customer_id is not null) as repurchase_post_recipients,
        count(*) filter (where r.customer_id is null) as cp05_others,
        avg(b.bought_pre::int) filter (where r.customer_id is null) as repurchase_pre_others,
        avg(b.bought_post::int) filter (where r.customer_id is null) as repurchase_post_others
    from {{ ref('int_crisis__affected_purchases') }} as b
    left join recipients as r on r.crisis_event_id = b.crisis_event_id and r.customer_id = b.customer_id
    group by b.crisis_event_id
),

{#- RL-01 rows listed while the event was active, RL-11 rows of the event; first listing per customer -#}
list_rows as (
    select e.crisis_event_id, l.rule_code, l.customer_id, l.run_date, l.contact_status
    from {{ source('published_lists', 'retention_list') }} as l
    inner join events as e
        on l.run_date >= e.start_date
       and l.run_date <= coalesce(e.resolved_date, {{ run_date() }})
    where l.rule_code = 'RL-01'
      and l.contact_status in ('ready', 'holdout')
      and l.run_date < {{ run_date() }}

    union all

    select e.crisis_event_id, l.rule_code, l.customer_id, l.run_date, l.contact_status
    from {{ source('published_lists', 'retention_list') }} as l
    inner join events as e on e.crisis_event_id = l.crisis_event_id
    where l.rule_code = 'RL-11'
      and l.contact_status in ('ready', 'holdout')
      and l.run_date < {{ run_date() }}
),

listed as (
    select distinct on (r.crisis_event_id, r.rule_code, r.customer_id)
        r.crisis_event_id,
        r.rule_code,
        r.customer_id,
        r.run_date as list_date,
        r.contact_status = 'ready' as treated,
        {{ day_end('r.run_date') }} as window_start,
        {{ day_end('least(r.run_date + (select outcome_days from params), ' ~ run_date() ~ ')') }} as window_end
    from list_rows as r
    order by r.crisis_event_id, r.rule_code, r.customer_id, r.run_date
),

listed_customers as (
    select distinct customer_id from listed
),

activity as (
    select a.customer_id, a.activity_ts
    from {{ ref('int_customers__activity_events') }} as a
    where a.customer_id in (select customer_id from listed_customers)
      and a.activity_ts >= (select min(window_start) from listed)
      and a.activity_ts < (select max(window_end) from listed)
),

revived as (
    select distinct l.crisis_event_id, l.customer_id
    from listed as l
    inner join activity as a
        on a.customer_id = l.customer_id
       and a.activity_ts >= l.window_start and a.activity_ts < l.window_end
    where l.rule_code = 'RL-01'
),

complaints as (
    select t.customer_id, t.complaint_type, t.created_at
    from {{ ref('stg_crm__tickets') }} as t
    where t.ticket_type = 'complaint'
      and t.complaint_type is not null
      and t.created_at < {{ run_end() }}
      and t.customer_id in (select customer_id from listed where rule_code = 'RL-11')
),

recurred as (
    select distinct l.crisis_event_id, l.customer_id
    from listed as l
    inner join complaints as later
        on later.customer_id = l.customer_id
       and later.created_at >= l.window_start and later.created_at < l.window_end
    inner join complaints as earlier
        on earlier.customer_id = l.customer_id
       and earlier.complaint_type = later.complaint_type
       and earlier.created_at < l.window_start
    where l.rule_code = 'RL-11'
),

list_effects as (
    select
        l.crisis_event_id,
        count(*) filter (where l.rule_code = 'RL-01' and l.treated) as winback_treated,
        count(*) filter (where l.rule_code = 'RL-01' and not l.treated) as winback_holdout,
        avg((v.customer_id is not null)::int) filter (where l.rule_code = 'RL-01' and l.treated) as revival_treated,
        avg((v.customer_id is not null)::int) filter (where l.rule_code = 'RL-01' and not l.treated) as revival_holdout,
        count(*) filter (where l.rule_code = 'RL-11' and l.treated) as health_check_treated,
        count(*) filter (where l.rule_code = 'RL-11' and not l.treated) as health_check_holdout,
        avg((r.customer_id is not null)::int) filter (where l.rule_code = 'RL-11' and l.treated) as recurrence_treated,
        avg((r.customer_id is not null)::int) filter (where l.rule_code = 'RL-11' and not l.treated) as recurrence_holdout
    from listed as l
    left join revived as v
        on l.rule_code = 'RL-01' and v.crisis_event_id = l.crisis_event_id and v.customer_id = l.customer_id
    left join recurred as r
        on l.rule_code = 'RL-11' and r.crisis_event_id = l.crisis_event_id and r.customer_id = l.customer_id
    group by l.crisis_event_id
)

select
    {{ run_date() }} as run_date,
    e.crisis_event_id,
    e.crisis_type,
    e.started_at,
    e.resolved_at,
    e.is_mature,
    coalesce(w.churn_base_pre, 0) as churn_base_pre,
    (w.churned_pre::numeric / nullif(w.churn_base_pre, 0))::double precision as churn_rate_pre,
    coalesce(w.churn_base_post, 0) as churn_base_post,
    (w.churned_post::numeric / nullif(w.churn_base_post, 0))::double precision as churn_rate_post,
    ((w.churned_post::numeric / nullif(w.churn_base_post, 0))
     / nullif(w.churned_pre::numeric / nullif(w.churn_base_pre, 0), 0) - 1)::double precision as churn_uplift,
    coalesce(w.cp05_recipients, 0) as cp05_recipients,
    w.repurchase_pre_recipients::double precision as repurchase_pre_recipients,
    w.repurchase_post_recipients::double precision as repurchase_post_recipients,
    (w.repurchase_post_recipients / nullif(w.repurchase_pre_recipients, 0) - 1)::double precision
        as loyalty_uplift_recipients,
    coalesce(w.cp05_others, 0) as cp05_others,
    w.repurchase_pre_others::double precision as repurchase_pre_others,
    w.repurchase_post_others::double precision as repurchase_post_others,
    (w.repurchase_post_others / nullif(w.repurchase_pre_others, 0) - 1)::double precision as loyalty_uplift_others,
    e.resolved_date is not null
        and e.resolved_date + (select outcome_days from params) <= {{ run_date() }} as winback_is_mature,
    coalesce(f.winback_treated, 0) as winback_treated,
    coalesce(f.winback_holdout, 0) as winback_holdout,
    f.revival_treated::double precision as revival_treated,
    f.revival_holdout::double precision as revival_holdout,
    (f.revival_treated / nullif(f.revival_holdout, 0) - 1)::double precision as revival_uplift,
    e.resolved_date is not null
        and e.resolved_date + (select offer_days from params) + (select outcome_days from params)
            <= {{ run_date() }} as health_check_is_mature,
    coalesce(f.health_check_treated, 0) as health_check_treated,
    coalesce(f.health_check_holdout, 0) as health_check_holdout,
    f.recurrence_treated::double precision as recurrence_treated,
    f.recurrence_holdout::double precision as recurrence_holdout,
    (1 - f.recurrence_treated / nullif(f.recurrence_holdout, 0))::double precision as recurrence_reduction,
    e.window_days,
    (select outcome_days from params) as outcome_window_days,
    (select policy_version from params) as policy_version
from events as e
left join customer_windows as w on w.crisis_event_id = e.crisis_event_id
left join list_effects as f on f.crisis_event_id = e.crisis_event_id
