{#- A table, not a view: three marts read it, and each read of a view would redo the latest-version
    window over all contacts and the time-zone lookup. -#}
{{ config(materialized='table') }}
{#- RP-11 campaign analytics, one row per outbound contact up to the run date, read as a funnel.
    The landing contract carries one final `outcome` per contact, not delivery / open / click timestamps,
    so each funnel step is "the final outcome reached at least this far" (null when no outcome is known):
      delivered = any outcome but no_answer (declined and opted_out customers were reached);
      opened    = opened, responded, accepted or declined (the customer saw it and reacted);
      responded = responded or accepted: the positive reaction, the click of an e-mail (as CF-17 and
                  RP-15's uptake read it);
      converted = accepted;
      opted_out = opted_out.
    send_hour is the hour of contact_ts in the customer's time zone when it is a known IANA name (a send
    time test is about the recipient's clock, e.g. SMS at 08:00 vs 09:00), otherwise in UTC
    (send_hour_local says which). campaign_id and ab_variant are trimmed, empty = absent. -#}
with contacts as (
    select
        c.contact_id,
        c.customer_id,
        c.contact_ts,
        c.contact_channel,
        c.purpose,
        nullif(trim(c.campaign_id), '') as campaign_id,
        nullif(trim(c.ab_variant), '') as ab_variant,
        c.outcome,
        z.name as time_zone
    from {{ ref('stg_crm__contacts') }} as c
    left join {{ ref('stg_crm__customers') }} as cu on cu.customer_id = c.customer_id
    left join pg_catalog.pg_timezone_names as z on z.name = cu.timezone
    where c.contact_ts < {{ run_end() }}
)

select
    contact_id,
    customer_id,
    contact_ts,
    date_trunc('month', {{ utc_date('contact_ts') }})::date as contact_month,
    contact_channel,
    purpose,
    campaign_id,
    ab_variant,
    case
        when time_zone is not null then extract(hour from contact_ts at time zone time_zone)
        else extract(hour from contact_ts at time zone 'UTC')
    end::integer as send_hour,
    time_zone is not null as send_hour_local,
    outcome,
    outcome is not null as has_outcome,
    case when outcome is null then null else outcome <> 'no_answer' end as delivered,
    case
        when outcome is null then null
        else outcome in ('opened', 'responded', 'accepted', 'declined')
    end as opened,
    case when outcome is null then null else outcome in ('responded', 'accepted') end as responded,
    case when outcome is null then null else outcome = 'accepted' end as converted,
    case when outcome is null then null else outcome = 'opted_out' end as opted_out
from contacts
