{#- RP-11 send-time comparison: per campaign, A/B arm ('(none)' outside a test) and hour of sending in
    the recipient's time zone (UTC when it is unknown; int_campaign__contacts), the contacts, their
    outcomes and the open, response and conversion rates over contacts with an outcome. Only campaigns
    whose contacts went out in at least two different hours: a send-time test needs two times to compare
    (e.g. arm A at 08:00, arm B at 09:00, or one arm spread over the day). Restated each run. -#}
with contacts as (
    select
        campaign_id,
        coalesce(ab_variant, '(none)') as ab_variant,
        send_hour,
        send_hour_local,
        {{ utc_date('contact_ts') }} as contact_on,
        has_outcome,
        opened,
        responded,
        converted
    from {{ ref('int_campaign__contacts') }}
    where campaign_id is not null
),

timed as (
    select campaign_id
    from contacts
    group by campaign_id
    having count(distinct send_hour) >= 2
),

hours as (
    select
        c.campaign_id,
        c.ab_variant,
        c.send_hour,
        max(c.contact_on) as last_contact_on,
        count(*) as contacts,
        count(*) filter (where c.send_hour_local) as contacts_local_hour,
        count(*) filter (where c.has_outcome) as with_outcome,
        count(*) filter (where c.opened) as opened,
        count(*) filter (where c.responded) as responded,
        count(*) filter (where c.converted) as converted
    from contacts as c
    inner join timed as t on t.campaign_id = c.campaign_id
    group by c.campaign_id, c.ab_variant, c.send_hour
)

select
    {{ run_date() }} as run_date,
    campaign_id,
    ab_variant,
    send_hour,
    last_contact_on,
    contacts,
    contacts_local_hour,
    with_outcome,
    opened,
    responded,
    converted,
    (opened::numeric / nullif(with_outcome, 0))::double precision as open_rate,
    (responded::numeric / nullif(with_outcome, 0))::double precision as response_rate,
    (converted::numeric / nullif(with_outcome, 0))::double precision as conversion_rate,
    {{ policy_version() }} as policy_version
from hours
