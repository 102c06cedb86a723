{#- CV-02 / CV-03: the T1 spend floor in value_tiers and vip_annual_spend_threshold, and the T2 share and
    value_top_share, are the same business numbers held in two policy tables; they must agree. -#}
select t.tier_code
from {{ policy_rows('value_tiers', ['tier_code']) }} as t
where (t.tier_code = 'T1_DIAMOND' and t.min_annual_spend is distinct from {{ policy_param('vip_annual_spend_threshold') }})
   or (t.tier_code = 'T2_GOLD' and t.top_revenue_share is distinct from {{ policy_param('value_top_share') }})
