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

weights as (
    select dimension, value, weight
    from {{ policy_rows('tag_priority_weights', ['dimension', 'value']) }} as w
),

components as (
    select
        t.ticket_id,
        coalesce(wp.weight, 0) as weight_priority,
        coalesce(w1.weight, w1o.weight, 0) as weight_l1,
        coalesce(w2.weight, w2o.weight, 0) as weight_l2,
        coalesce(w3.weight, w3o.weight, 0) as weight_l3
    from tickets as t
    left join weights as wp on wp.dimension = 'priority' and wp.value = t.priority
    left join weights as w1 on w1.dimension = 'l1_type' and w1.value = t.category_l1
    left join weights as w1o on w1o.dimension = 'l1_type' and w1o.value = 'other'
    left join weights as w2 on w2.dimension = 'l2_module' and w2.value = t.module_l2
    left join weights as w2o on w2o.dimension = 'l2_module' and w2o.value = 'other'
    left join weights as w3 on w3.dimension = 'l3_stack' and w3.value = t.stack_l3
    left join weights as w3o on w3o.dimension = 'l3_stack' and w3o.value = 'other'
)

select
    ticket_id,
    weight_priority,
    weight_l1,
    weight_l2,
    weight_l3,
    {{ capped_priority_weight('weight_priority + weight_l1 + weight_l2 + weight_l3') }} as tag_priority_weight
from components
