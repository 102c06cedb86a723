{{ config(tags=["lists"], materialized="table", post_hook="analyze {{ this }}") }}
{#- Outbound contacts per customer up to the run date (RL-19 frequency caps and cooldown): counts in the
    7 and 30 days ending on the run date and the last contact. From the CRM's contact history. -#}
select
    customer_id,
    count(*) filter (where contact_ts >= {{ run_end() }} - interval '7 days') as contacts_7d,
    count(*) filter (where contact_ts >= {{ run_end() }} - interval '30 days') as contacts_30d,
    max(contact_ts) as last_contact_at,
    max(contact_ts) filter (where purpose = 'wake_up') as last_wakeup_at
from {{ ref('stg_crm__contacts') }}
where contact_ts < {{ run_end() }}
group by customer_id
