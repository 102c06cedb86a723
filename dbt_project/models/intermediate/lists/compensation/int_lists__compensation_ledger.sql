{{ config(tags=["lists"]) }}
{#- CP-14 ledger as of var('run_date'): every compensation already granted, one row per grant.
      source 'crm'      the CRM's compensations issued before the end of the run date, keyed
                        ticket:<id>:<round> | crisis_points:<id>:<round> (points) | crisis:<id>:<round>;
      source 'platform' rows of earlier published compensation lists (int_lists__published_history).
    CP-02 (a round 1 exists), the already_compensated decision and the 365-day cap read it. -#}
select customer_id,
       case when ticket_id is not null then 'ticket:' || ticket_id
            when compensation_type = 'points' then 'crisis_points:' || crisis_event_id
            else 'crisis:' || crisis_event_id end
           || ':' || round_no as ledger_key,
       amount,
       'crm'::text as source,
       issued_at,
       null::date as run_date
from {{ ref('stg_crm__compensations') }}
where issued_at < {{ run_end() }} and (ticket_id is not null or crisis_event_id is not null)

union all
select customer_id, ledger_key, amount, 'platform', null::timestamptz, run_date
from {{ ref('int_lists__published_history') }}
where list_name = 'compensation'
