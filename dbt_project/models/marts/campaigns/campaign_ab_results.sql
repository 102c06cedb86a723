{#- RP-11 A/B results per campaign_id x ab_variant, every contact up to the run date, restated each run.
    Only contacts that carry both a campaign_id and an ab_variant take part: without them the mart is
    empty, not an error. Per arm: contacts, contacts with an outcome (n), conversions (outcome accepted)
    and the conversion rate conversions / n (intent to treat: an arm that reaches fewer people, e.g. a
    worse send time, pays for it in its rate), plus open and response rates for context.
    Control: the arm named campaign_ab_control_variant (case-insensitive) when the campaign has it,
    otherwise the first arm in sort order. Every other arm is compared with it when both have at least
    campaign_ab_min_group_size contacts with an outcome:
      difference = rate(arm) - rate(control), relative_lift = difference / rate(control);
      two-proportion z-test with the pooled rate, two-sided p-value; significant = p < campaign_ab_alpha;
      interval of the difference at 1 - campaign_ab_alpha by Newcombe's hybrid score method (Wilson bounds
      of each arm, as RP-15's uplift), honest when a rate is 0 or 1.
    The normal quantile and p-value come from macros/normal_approximation.sql. No multiple-testing
    correction: the report says how many comparisons were made.
    The one-row `levels` is read through scalar subqueries, never cross-joined: with the build's
    enable_nestloop = off (planner_settings) a cross join costs like a disabled plan, which switches on
    JIT compilation (measured: 17 s instead of 20 ms on the demo data). -#}
with params as (
    select
        {{ policy_param('campaign_ab_alpha') }} as alpha,
        {{ policy_param('campaign_ab_min_group_size', 'integer') }} as min_group_size,
        {{ policy_param('campaign_ab_control_variant', 'text') }} as control_variant,
        {{ policy_version() }} as policy_version
),

levels as (
    select
        p.*,
        case when p.alpha > 0 and p.alpha < 1 then {{ normal_upper_quantile('p.alpha / 2') }} end as z_crit
    from params as p
),

arms as (
    select
        campaign_id,
        ab_variant,
        string_agg(distinct contact_channel, ', ' order by contact_channel) as channels,
        min({{ utc_date('contact_ts') }}) as first_contact_on,
        max({{ utc_date('contact_ts') }}) as last_contact_on,
        count(*) as contacts,
        count(*) filter (where has_outcome) as n,
        count(*) filter (where converted) as conversions,
        count(*) filter (where opened) as opened,
        count(*) filter (where responded) as responded
    from {{ ref('int_campaign__contacts') }}
    where campaign_id is not null and ab_variant is not null
    group by campaign_id, ab_variant
),

ranked as (
    select
        a.*,
        count(*) over (partition by a.campaign_id) as variants,
        row_number() over (
            partition by a.campaign_id
            order by (lower(a.ab_variant) = lower((select control_variant from levels))) desc nulls last,
                     a.ab_variant
        ) = 1 as is_control,
        a.conversions::numeric / nullif(a.n, 0) as rate
    from arms as a
),

paired as (
    select
        r.*,
        c.ab_variant as control_variant,
        c.n as control_n,
        c.rate as control_rate,
        c.conversions as control_conversions,
        (select alpha from levels) as alpha,
        (select z_crit from levels) as z_crit,
        (select policy_version from levels) as policy_version,
        not r.is_control
        and r.n >= (select min_group_size from levels)
        and c.n >= (select min_group_size from levels)
        and (select z_crit from levels) is not null as tested
    from ranked as r
    inner join ranked as c on c.campaign_id = r.campaign_id and c.is_control
),

stats as (
    select
        p.*,
        case when not p.is_control then p.rate - p.control_rate end as difference,
        (p.conversions + p.control_conversions)::numeric / nullif(p.n + p.control_n, 0) as pooled,
        case when p.tested then {{ wilson_bound('p.rate', 'p.n', 'p.z_crit', '-') }} end as arm_low,
        case when p.tested then {{ wilson_bound('p.rate', 'p.n', 'p.z_crit', '+') }} end as arm_high,
        case when p.tested then {{ wilson_bound('p.control_rate', 'p.control_n', 'p.z_crit', '-') }} end
            as control_low,
        case when p.tested then {{ wilson_bound('p.control_rate', 'p.control_n', 'p.z_crit', '+') }} end
            as control_high
    from paired as p
),

tested as (
    select
        s.*,
        case
            when not s.tested then null
            when s.pooled * (1 - s.pooled) = 0 then 0  -- both arms 0 % or both 100 %: no difference
            else s.difference / sqrt(s.pooled * (1 - s.pooled) * (1.0 / s.n + 1.0 / s.control_n))
        end as z_statistic
    from stats as s
)

select
    {{ run_date() }} as run_date,
    campaign_id,
    ab_variant,
    is_control,
    control_variant,
    variants::integer as variants,
    channels,
    first_contact_on,
    last_contact_on,
    contacts,
    n as with_outcome,
    conversions,
    rate::double precision as conversion_rate,
    (opened::numeric / nullif(n, 0))::double precision as open_rate,
    (responded::numeric / nullif(n, 0))::double precision as response_rate,
    control_rate::double precision as control_conversion_rate,
    difference::double precision as conversion_difference,
    (difference / nullif(control_rate, 0))::double precision as relative_lift,
    (difference - sqrt(power(rate - arm_low, 2) + power(control_high - control_rate, 2)))::double precision
        as difference_ci_low,
    (difference + sqrt(power(arm_high - rate, 2) + power(control_rate - control_low, 2)))::double precision
        as difference_ci_high,
    z_statistic::double precision as z_statistic,
    (case when z_statistic is not null then {{ normal_two_sided_p('z_statistic') }} end)::double precision
        as p_value,
    case when tested then {{ normal_two_sided_p('z_statistic') }} < alpha end as significant,
    alpha::double precision as alpha,
    policy_version
from tested
