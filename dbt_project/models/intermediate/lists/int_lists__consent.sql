{{ config(tags=["lists"], **incremental_customers_config(
    ['consents', 'contacts'],
    indexes=[{'columns': ['customer_id', 'purpose', 'channel'], 'unique': true}],
)) }}
{#- Consent per customer, purpose and concrete channel as of the run date (PS-07, RL-19). Consent
    events: the consents file plus contacts whose outcome was `opted_out` (a marketing withdrawal on that
    channel). For (purpose, channel) the latest event among that channel's rows and the purpose's 'any'
    rows wins (landing contract: the latest status_ts wins). No event = no consent (opt-in).
    is_do_not_contact: the latest service/'any' status is withdrawn - nobody may contact the customer.
    The concrete channels an 'any' event covers: channel_matrix's and every channel the contract allows a
    consent or a contact, so a customer's rows depend on that customer's events alone. That makes the
    model incremental by customer (macro incremental_customers; a changed channel_matrix is a rebuild, by
    the digest of the seed's rows in the mark): at 1,000,000 customers it holds 12.2M rows, and a night's consents
    and contacts touch a few thousand customers. (customer_id, purpose, channel) is the unique index. -#}
{%- set channels = [] %}
{%- for table in ['consents', 'contacts'] %}
{%- for channel in contract_table(table).allowed.channel if channel != 'any' and channel not in channels %}
{%- do channels.append(channel) %}
{%- endfor %}
{%- endfor %}
with events as (
    select customer_id, purpose, consent_channel as channel, consent_status as status, status_ts
    from {{ ref('stg_crm__consents') }}
    where status_ts < {{ run_end() }}
      {{ incremental_customers_filter() }}
    union all
    select customer_id, 'marketing', contact_channel, 'withdrawn', contact_ts
    from {{ ref('stg_crm__contacts') }}
    where outcome = 'opted_out' and contact_ts < {{ run_end() }}
      {{ incremental_customers_filter() }}
),

channels as (
    select distinct channel from {{ ref('channel_matrix') }}
    union
    select channel from (values {% for channel in channels %}('{{ channel }}'){% if not loop.last %}, {% endif %}{% endfor %}) as contract_channels (channel)
),

expanded as (
    select e.customer_id, e.purpose, ch.channel, e.status, e.status_ts,
           row_number() over (partition by e.customer_id, e.purpose, ch.channel
                              order by e.status_ts desc, (e.channel <> 'any') desc, (e.status = 'withdrawn') desc) as rn
    from events as e
    join channels as ch on e.channel in (ch.channel, 'any')
),

dnc as (
    select customer_id,
           (array_agg(status order by status_ts desc, (status = 'withdrawn') desc))[1] = 'withdrawn' as is_do_not_contact
    from events
    where purpose = 'service' and channel = 'any'
    group by customer_id
)

select
    x.customer_id,
    x.purpose,
    x.channel,
    x.status = 'granted' and not coalesce(d.is_do_not_contact, false) as is_granted,
    x.status_ts,
    coalesce(d.is_do_not_contact, false) as is_do_not_contact
from expanded as x
left join dnc as d on d.customer_id = x.customer_id
where x.rn = 1
{{ incremental_customers_order('x.customer_id, x.purpose, x.channel') }}
