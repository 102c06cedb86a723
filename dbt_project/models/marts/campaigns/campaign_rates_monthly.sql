{#- RP-11 monthly campaign rates per channel and purpose: every outbound contact up to the run date (UTC
    month of contact_ts), restated each run (a late export or a corrected outcome changes earlier months).
    Rates follow the e-mail funnel convention: delivery = delivered / contacts with an outcome; open,
    response (click) and conversion = that step / delivered. The funnel steps are read from the final
    outcome in int_campaign__contacts. -#}
with monthly as (
    select
        contact_month,
        contact_channel,
        purpose,
        count(*) as contacts,
        count(*) filter (where has_outcome) as with_outcome,
        count(*) filter (where delivered) as delivered,
        count(*) filter (where opened) as opened,
        count(*) filter (where responded) as responded,
        count(*) filter (where converted) as converted,
        count(*) filter (where opted_out) as opted_out,
        count(distinct campaign_id) as campaigns
    from {{ ref('int_campaign__contacts') }}
    group by contact_month, contact_channel, purpose
)

select
    {{ run_date() }} as run_date,
    contact_month,
    contact_channel,
    purpose,
    contacts,
    with_outcome,
    delivered,
    opened,
    responded,
    converted,
    opted_out,
    campaigns,
    (delivered::numeric / nullif(with_outcome, 0))::double precision as delivery_rate,
    (opened::numeric / nullif(delivered, 0))::double precision as open_rate,
    (responded::numeric / nullif(delivered, 0))::double precision as response_rate,
    (converted::numeric / nullif(delivered, 0))::double precision as conversion_rate,
    {{ policy_version() }} as policy_version
from monthly
