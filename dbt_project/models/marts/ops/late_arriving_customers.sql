{#- Late-arriving customers (landing contract, "Bad input"): rows that refer to a customer the
    platform has not received yet are kept, not quarantined, and reported here while they wait.
    One row per (source table, customer_id) still unmatched as of run_date; a row disappears on the
    first run date after the customer record arrives. -#}
{%- set sources = [
    ('orders', 'fct_orders'),
    ('tickets', 'int_complaints__tickets_latest'),
    ('interactions', 'fct_interactions'),
    ('surveys', 'stg_crm__surveys'),
    ('contacts', 'stg_crm__contacts'),
    ('compensations', 'stg_crm__compensations'),
    ('consents', 'stg_crm__consents'),
    ('crisis_affected_customers', 'stg_crm__crisis_affected_customers'),
] -%}
with known as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

references_ as (
    {%- for table, model in sources %}
    select '{{ table }}' as source_table, customer_id, exported_on
    from {{ ref(model) }}
    where customer_id is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    {{ run_date() }} as run_date,
    r.source_table,
    r.customer_id,
    count(*) as rows_waiting,
    min(r.exported_on) as first_exported_on,
    {{ run_date() }} - min(r.exported_on) as days_waiting
from references_ as r
left join known as k on k.customer_id = r.customer_id
where k.customer_id is null
group by r.source_table, r.customer_id
