{#- CM-05 tag-combination priority weight (seed_spec 7.5), one row per ticket:
    min(priority_weight_cap, w(priority) + w(L1) + w(L2) + w(L3)) x priority_weight_manual_coefficient,
    weights from tag_priority_weights; an unlisted or missing tag takes its dimension's `other` weight.
    L3: the landing contract has no stack column, so stack_l3 is null (weight of `other` = 0) unless a
    source sends it as an extra column. The anchors [S] security + payment + P0 = 100 and
    UI + personal_centre + P3 = 20 hold exactly (unit test + assert_tag_priority_weight_anchors). -#}
with tickets as (
    select ticket_id, priority, category_l1, module_l2, stack_l3
    from {{ ref('int_complaints__tickets') }}
),

{#- the weights as one map 'dimension/value' -> weight, looked up per tag: seven joins of every ticket with
    the policy rows cost fct_tickets, the view's one reader, about a sixth of its select (300,000 customers,
    the build's planner settings: 6.5 s -> 5.2-5.5 s; docs/scaling.md, session 35) -#}
weights as (
    select jsonb_object_agg(w.dimension || '/' || w.value, w.weight) as by_tag
    from {{ policy_rows('tag_priority_weights', ['dimension', 'value']) }} as w
),

components as (
    select
        t.ticket_id,
        coalesce((w.by_tag ->> ('priority/' || t.priority))::numeric, 0) as weight_priority,
        coalesce((w.by_tag ->> ('l1_type/' || t.category_l1))::numeric, (w.by_tag ->> 'l1_type/other')::numeric, 0) as weight_l1,
        coalesce((w.by_tag ->> ('l2_module/' || t.module_l2))::numeric, (w.by_tag ->> 'l2_module/other')::numeric, 0) as weight_l2,
        coalesce((w.by_tag ->> ('l3_stack/' || t.stack_l3))::numeric, (w.by_tag ->> 'l3_stack/other')::numeric, 0) as weight_l3
    from tickets as t
    cross join weights as w
)

select
    ticket_id,
    weight_priority,
    weight_l1,
    weight_l2,
    weight_l3,
    {{ capped_priority_weight('weight_priority + weight_l1 + weight_l2 + weight_l3') }} as tag_priority_weight
from components
