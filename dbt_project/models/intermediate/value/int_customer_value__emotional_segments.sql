{{ config(materialized='table', indexes=[{'columns': ['customer_id'], 'unique': true}]) }}
{#- CV-12 emotion profile type and emotional segment per customer registered by run_date (003-2, 003-3,
    003-6 §4). The seeds name the segments ("high-loyalty emotional", "price-sensitive emotional", and the
    "emotional customer" they refine) without defining them, so this is the most literal build [D]:
      emotion_type_90d   = 003-3 customer type from the dominant 90-day emotion (int_customer_value__profile):
                           satisfied / excited -> positive, neutral -> neutral, angry / disappointed /
                           worried -> anxious; null without labelled texts (DQ-06 gate);
      is_emotional       = CV-10 cluster high (strong emotional connection, 003-6), null without CV-10 score;
      is_loyal           = paid orders in value_revenue_window_days >= emotional_segment_loyal_min_orders
                           and CV-11 emotional balance >= 0 (repeat purchase without an emotional overdraft);
      is_price_sensitive = discounts / gross order value in the same window
                           >= emotional_segment_price_min_discount_share;
      emotional_segment  = high_loyalty_emotional (emotional and loyal; loyalty wins: a loyal customer is
                           not steered by price offers), price_sensitive_emotional (emotional, price
                           sensitive, not loyal), other_emotional, not_emotional (CV-10 medium / low), or
                           null when there is no emotional evidence (no CV-10 score). An unset threshold
                           leaves its segment unassigned (starter defaults ship both).
    Window filters read their parameter as a scalar subquery over `params` (macro policy_param). -#}
with params as (
    select
        {{ policy_param('value_revenue_window_days', 'integer') }} as window_days,
        {{ policy_param('emotional_segment_loyal_min_orders', 'integer') }} as loyal_min_orders,
        {{ policy_param('emotional_segment_price_min_discount_share') }} as price_min_discount_share
),

customers as (
    select customer_id
    from {{ ref('stg_crm__customers') }}
    where registered_at < {{ run_end() }}
),

orders as (
    select
        o.customer_id,
        count(*) as paid_orders,
        sum(coalesce(o.gross_amount, 0)) as gross_amount,
        sum(coalesce(o.discount_amount, 0)) as discount_amount
    from {{ ref('fct_orders') }} as o
    where o.order_status <> 'cancelled'
      and o.order_ts < {{ run_end() }}
      and o.order_ts >= {{ run_end() }} - make_interval(days => (select window_days from params))
    group by o.customer_id
),

flags as (
    select
        c.customer_id,
        case
            when pr.dominant_emotion_90d in ('satisfied', 'excited') then 'positive'
            when pr.dominant_emotion_90d = 'neutral' then 'neutral'
            when pr.dominant_emotion_90d in ('angry', 'disappointed', 'worried') then 'anxious'
        end as emotion_type_90d,
        case when e.cev_cluster is not null then e.cev_cluster = 'high' end as is_emotional,
        coalesce(o.paid_orders, 0) >= p.loyal_min_orders
            and coalesce(pr.emotional_balance, 0) >= 0 as is_loyal,
        coalesce(o.discount_amount / nullif(o.gross_amount, 0), 0) >= p.price_min_discount_share
            as is_price_sensitive,
        round((o.discount_amount / nullif(o.gross_amount, 0))::numeric, 4)::double precision as discount_share,
        coalesce(o.paid_orders, 0)::integer as paid_orders_window
    from customers as c
    cross join params as p
    left join {{ ref('int_customer_value__emotional') }} as e on e.customer_id = c.customer_id
    left join {{ ref('int_customer_value__profile') }} as pr on pr.customer_id = c.customer_id
    left join orders as o on o.customer_id = c.customer_id
)

select
    customer_id,
    emotion_type_90d,
    is_emotional,
    paid_orders_window,
    discount_share,
    case
        when is_emotional is null then null
        when not is_emotional then 'not_emotional'
        when is_loyal then 'high_loyalty_emotional'
        when is_price_sensitive then 'price_sensitive_emotional'
        else 'other_emotional'
    end as emotional_segment
from flags
