{{ config(tags=["lists"]) }}
{#- RP-15 / CH-08 list outcomes, per run_date: for each published retention list of the last
    outcome_window_days (list_date < run_date) and each rule, treated (contact_status ready) vs hold-out:
      reactivation = any activity (int_customers__activity_events) after the list date, up to
                     min(list_date + outcome_window_days, run_date); churn = 1 - reactivation (final once
                     is_mature, i.e. the whole window has passed);
      uptake       = treated customers with a contact of that list (contacts.list_run_date) responded/accepted;
      uplift       = reactivation(treated) - reactivation(hold-out), with Newcombe's hybrid score interval
                     (Wilson bounds of each group, z = outcome_ci_z) when both groups have >=
                     outcome_min_group_size customers: unlike the plain normal (Wald) interval it stays honest
                     when a group's rate is 0 or 1, as it is for lapsed customers' hold-outs;
                     uplift_significant = the interval excludes 0;
      cost         = treated x contact_unit_cost (when set) + compensations issued to treated customers in
                     the window; cost_per_retained = cost / (uplift x treated) when the uplift is positive.
    Tagged `lists`: it reads the published lists, so it runs after scoring with the list models. -#}
with p as (
    select * from {{ ref('int_lists__params') }}
),

cohort as (
    select l.run_date as list_date, l.rule_code, l.customer_id,
           case when l.contact_status = 'holdout' then 'holdout' else 'treated' end as arm
    from {{ source('published_lists', 'retention_list') }} as l
    cross join p
    where l.run_date < {{ run_date() }}
      and l.run_date >= {{ run_date() }} - p.outcome_window_days
      and l.contact_status in ('ready', 'holdout')
),

{#- set-based: each source is read once, for the cohort's customers inside the cohort's overall window,
    and joined on (customer, window); a correlated subquery per cohort row over the activity view (a
    union of views, no statistics) was a nested loop per listed customer -#}
windows as (
    select
        c.*,
        {{ day_end('c.list_date') }} as window_start,
        {{ day_end('least(c.list_date + p.outcome_window_days, ' ~ run_date() ~ ')') }} as window_end
    from cohort as c
    cross join p
),

span as (
    select min(window_start) as span_start, max(window_end) as span_end from windows
),

cohort_customers as (
    select distinct customer_id from cohort
),

activity as (
    select a.customer_id, a.activity_ts
    from {{ ref('int_customers__activity_events') }} as a
    cross join span as s
    where a.activity_ts >= s.span_start and a.activity_ts < s.span_end
      and a.customer_id in (select customer_id from cohort_customers)
),

reactivated as (
    select distinct w.list_date, w.rule_code, w.customer_id
    from windows as w
    inner join activity as a
        on a.customer_id = w.customer_id
       and a.activity_ts >= w.window_start and a.activity_ts < w.window_end
),

took_up as (
    select distinct ct.customer_id, ct.list_run_date
    from {{ ref('stg_crm__contacts') }} as ct
    where ct.outcome in ('responded', 'accepted')
      and ct.list_run_date in (select distinct list_date from cohort)
),

granted as (
    select w.list_date, w.rule_code, w.customer_id, sum(k.amount) as amount
    from windows as w
    inner join {{ ref('stg_crm__compensations') }} as k
        on k.customer_id = w.customer_id
       and k.issued_at >= w.window_start and k.issued_at < w.window_end
    group by w.list_date, w.rule_code, w.customer_id
),

measured as (
    select
        w.*,
        r.customer_id is not null as reactivated,
        t.customer_id is not null as took_up,
        coalesce(g.amount, 0) as compensation_cost
    from windows as w
    left join reactivated as r
        on r.list_date = w.list_date and r.rule_code = w.rule_code and r.customer_id = w.customer_id
    left join took_up as t
        on t.customer_id = w.customer_id and t.list_run_date = w.list_date
    left join granted as g
        on g.list_date = w.list_date and g.rule_code = w.rule_code and g.customer_id = w.customer_id
),

grouped as (
    select
        list_date,
        rule_code,
        count(*) filter (where arm = 'treated') as n_treated,
        count(*) filter (where arm = 'holdout') as n_holdout,
        avg(reactivated::int) filter (where arm = 'treated') as reactivation_treated,
        avg(reactivated::int) filter (where arm = 'holdout') as reactivation_holdout,
        avg(took_up::int) filter (where arm = 'treated') as uptake_treated,
        coalesce(sum(compensation_cost) filter (where arm = 'treated'), 0) as compensation_cost_treated
    from measured
    group by list_date, rule_code
),

wilson as (
    select
        g.*,
        p.outcome_ci_z as z,
        g.n_treated >= p.outcome_min_group_size and g.n_holdout >= p.outcome_min_group_size as has_interval,
        g.n_treated * coalesce(p.contact_unit_cost, 0) + g.compensation_cost_treated as total_cost,
        p.outcome_window_days,
        p.policy_version
    from grouped as g
    cross join p
),

bounds as (
    select
        w.*,
        w.reactivation_treated - w.reactivation_holdout as uplift,
        case when w.has_interval then {{ wilson_bound('w.reactivation_treated', 'w.n_treated', 'w.z', '-') }} end as treated_low,
        case when w.has_interval then {{ wilson_bound('w.reactivation_treated', 'w.n_treated', 'w.z', '+') }} end as treated_high,
        case when w.has_interval then {{ wilson_bound('w.reactivation_holdout', 'w.n_holdout', 'w.z', '-') }} end as holdout_low,
        case when w.has_interval then {{ wilson_bound('w.reactivation_holdout', 'w.n_holdout', 'w.z', '+') }} end as holdout_high
    from wilson as w
),

stats as (
    select
        b.*,
        b.uplift - sqrt(power(b.reactivation_treated - b.treated_low, 2)
                        + power(b.holdout_high - b.reactivation_holdout, 2)) as ci_low,
        b.uplift + sqrt(power(b.treated_high - b.reactivation_treated, 2)
                        + power(b.reactivation_holdout - b.holdout_low, 2)) as ci_high
    from bounds as b
)

select
    {{ run_date() }} as run_date,
    list_date,
    rule_code,
    ({{ run_date() }} - list_date) >= outcome_window_days as is_mature,
    n_treated,
    n_holdout,
    uptake_treated::double precision as uptake_treated,
    reactivation_treated::double precision as reactivation_treated,
    reactivation_holdout::double precision as reactivation_holdout,
    (1 - reactivation_treated)::double precision as churn_treated,
    (1 - reactivation_holdout)::double precision as churn_holdout,
    uplift::double precision as reactivation_uplift,
    ci_low::double precision as uplift_ci_low,
    ci_high::double precision as uplift_ci_high,
    (ci_low > 0 or ci_high < 0) as uplift_significant,
    total_cost::numeric(18, 2) as total_cost,
    case when uplift > 0 then (total_cost / (uplift * n_treated))::numeric(18, 2) end as cost_per_retained,
    policy_version
from stats
