{{ config(materialized='table') }}
{#- CP-11 / DQ-11 progress notification, as of var('run_date'): one row per published compensation list row
    (source lists.compensation_list, list dates before the run date; written by crm_scoring.lists.publish,
    so the model is empty until a list was published) with the first `compensation_notice` contact of the CRM
    (contacts.csv) for that customer on or after the list date and before the end of the run date.
      notice_due_date = the earlier of the row's due_by (CP-13) and list date + compensation_notice_max_days
                        (either may be unset [U]; both unset = no deadline);
      status          = notified (a notice was recorded) | overdue (no notice and notice_due_date < run date) |
                        pending;
      hours_to_notify = hours from the start (00:00 UTC) of the list date to the notice.
    A table (state as of the run date, restated each run): overdue rows raise DQ-11 in marts.alerts. -#}
with p as (
    select {{ policy_param('compensation_notice_max_days', 'integer') }} as notice_max_days
),

published as (
    select
        run_date::date as list_run_date,
        customer_id::text as customer_id,
        rule_code::text as rule_code,
        trigger_type::text as trigger_type,
        ledger_key::text as ledger_key,
        status::text as list_status,
        notify_channel::text as planned_channel,
        due_by::date as due_by
    from {{ source('published_lists', 'compensation_list') }}
    where run_date < {{ run_date() }}
),

{#- set-based: the first notice per (customer, list date); a lateral subquery would re-evaluate the
    contacts staging view (a window over every version) once per published row -#}
first_notices as (
    select distinct on (pb.customer_id, pb.list_run_date)
        pb.customer_id,
        pb.list_run_date,
        ct.contact_id,
        ct.contact_ts,
        ct.contact_channel
    from (select distinct customer_id, list_run_date from published) as pb
    inner join {{ ref('stg_crm__contacts') }} as ct
        on ct.customer_id = pb.customer_id
       and ct.contact_ts >= (pb.list_run_date::timestamp at time zone 'UTC')
    where ct.purpose = 'compensation_notice'
      and ct.contact_ts < {{ run_end() }}
    order by pb.customer_id, pb.list_run_date, ct.contact_ts, ct.contact_id
),

notices as (
    select
        pb.*,
        least(pb.due_by, pb.list_run_date + p.notice_max_days) as notice_due_date,
        n.contact_id,
        n.contact_ts,
        n.contact_channel
    from published as pb
    cross join p
    left join first_notices as n
        on n.customer_id = pb.customer_id
       and n.list_run_date = pb.list_run_date
)

select
    {{ run_date() }} as run_date,
    n.list_run_date,
    n.customer_id,
    n.rule_code,
    n.trigger_type,
    n.ledger_key,
    n.list_status,
    n.planned_channel,
    n.due_by,
    n.notice_due_date,
    n.contact_id as notice_contact_id,
    n.contact_ts as notified_at,
    n.contact_channel as notified_channel,
    round((extract(epoch from n.contact_ts - (n.list_run_date::timestamp at time zone 'UTC')) / 3600.0)::numeric, 2)
        as hours_to_notify,
    coalesce(n.contact_ts >= {{ day_end('n.notice_due_date') }}, false) as notified_late,
    case when n.contact_ts is null and n.notice_due_date < {{ run_date() }}
         then {{ run_date() }} - n.notice_due_date end as days_overdue,
    case when n.contact_ts is not null then 'notified'
         when n.notice_due_date < {{ run_date() }} then 'overdue'
         else 'pending' end as status,
    {{ policy_version() }} as policy_version
from notices as n
