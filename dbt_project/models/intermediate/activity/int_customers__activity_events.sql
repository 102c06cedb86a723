{#- Activity events (seed_spec 2.1): orders (placing an order is activity, whatever its later status),
    logins and app/web events (failed logins excluded), tickets raised by the customer, survey responses.
    Source of last_activity_at / days_inactive (CV-07, CF-04) and of the churn label (CH-01). -#}
select customer_id, order_ts as activity_ts, 'order' as activity_type
from {{ ref('fct_orders') }}

union all

select customer_id, event_ts as activity_ts, 'interaction' as activity_type
from {{ ref('fct_interactions') }}
where event_type <> 'login_failed'

union all

select customer_id, created_at as activity_ts, 'ticket' as activity_type
from {{ ref('int_complaints__tickets_latest') }}
where customer_id is not null

union all

select customer_id, responded_at as activity_ts, 'survey_response' as activity_type
from {{ ref('int_feedback__surveys_latest') }}
where responded_at is not null
