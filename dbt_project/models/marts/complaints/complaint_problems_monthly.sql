{#- CM-07 high-frequency problem analysis: per month (the last problem_analysis_months, run month
    included, restated every run) and product module (module_l2), complaints by complaint type, their
    share of the module's and of the month's complaints, and the rank of the type within the module; the
    top problem_top_n are flagged for the product team. Topic clusters (LDA / K-means) are not built.
    CM-08: reopen rate per type and module; secondary-contact rate only while CM-08 is runnable
    (repeat_contact_window_days is [U]).
    Window filters read their parameter as a scalar subquery over `params` (macro policy_param). -#}
with params as (
    select
        {{ policy_param('problem_analysis_months', 'integer') }} as months,
        {{ policy_param('problem_top_n', 'integer') }} as top_n,
        {{ rule_enabled('CM-08') }} as secondary_enabled
),

complaints as (
    select
        date_trunc('month', t.created_on)::date as month,
        coalesce(t.module_l2, 'unknown') as module_l2,
        coalesce(t.complaint_type, 'unknown') as complaint_type,
        t.is_reopened,
        t.is_secondary_contact
    from {{ ref('fct_tickets') }} as t
    where t.run_date = {{ run_date() }}
      and t.is_complaint
      and t.created_on >= (date_trunc('month', {{ run_date() }})
                           - make_interval(months => (select months from params) - 1))::date
),

grouped as (
    select
        month,
        module_l2,
        complaint_type,
        count(*) as complaints,
        count(*) filter (where is_reopened) as reopened_complaints,
        count(*) filter (where is_secondary_contact) as secondary_contacts
    from complaints
    group by month, module_l2, complaint_type
),

shared as (
    select
        g.*,
        g.complaints::double precision / sum(g.complaints) over (partition by g.month, g.module_l2) as share_of_module,
        g.complaints::double precision / sum(g.complaints) over (partition by g.month) as share_of_month,
        rank() over (partition by g.month, g.module_l2 order by g.complaints desc) as rank_in_module
    from grouped as g
)

select
    {{ run_date() }} as run_date,
    s.month,
    s.module_l2,
    s.complaint_type,
    s.complaints,
    s.share_of_module,
    s.share_of_month,
    s.rank_in_module,
    s.rank_in_module <= p.top_n as is_top_problem,
    s.reopened_complaints,
    s.reopened_complaints::double precision / s.complaints as reopen_rate,
    case when p.secondary_enabled then s.secondary_contacts::double precision / s.complaints end as secondary_contact_rate,
    {{ policy_version() }} as policy_version
from shared as s
cross join params as p
where {{ require_rule_params(['CM-07', 'CM-08']) }}
