{#- CM-05: the seeded anchors (tag_priority_weights rows with dimension = 'anchor', value = '+'-joined
    tags) are reproduced exactly by the weight rows, the cap and the manual coefficient in force. A tag
    is looked up in every non-anchor dimension (tag values are distinct across dimensions). -#}
with weights as (
    select dimension, value, weight
    from {{ policy_rows('tag_priority_weights', ['dimension', 'value']) }} as w
),

anchors as (
    select value as anchor, weight as expected
    from weights
    where dimension = 'anchor'
),

computed as (
    select
        a.anchor,
        a.expected,
        {{ capped_priority_weight('coalesce(sum(w.weight), 0)') }} as actual
    from anchors as a
    cross join lateral unnest(string_to_array(a.anchor, '+')) as tag
    left join weights as w on w.dimension <> 'anchor' and w.value = trim(tag)
    group by a.anchor, a.expected
)

select anchor, expected, actual
from computed
where actual is distinct from expected
