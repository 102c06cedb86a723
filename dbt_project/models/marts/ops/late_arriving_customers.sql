{{ config(post_hook="{{ incremental_snapshot_mark() }}") }}
{#- Late-arriving customers (landing contract, "Bad input"): rows that refer to a customer the
    platform has not received yet are kept, not quarantined, and reported here while they wait.
    One row per (source table, customer_id) still unmatched as of run_date; a row disappears on the
    first run date after the customer record arrives.

    Incremental by delta (issue 12; macros/incremental_snapshot.sql): reading every reference of eight
    relations took 241 s of the incremental night at 1,000,000 customers. A (source, customer) pair is
    late on run_date only if the customer is unknown on run_date and either
      - it was already late in the base snapshot (the customer was unknown then too: a customer record,
        once exported, stays known), or
      - a version of one of its references was exported after the base snapshot's date: the latest version
        of a key as of run_date is either exported since the base date or was already the latest then.
    So a forward night recomputes exactly these candidate pairs from the same relations as a full build
    (every reference of the candidate customers, latest version per key, counted the same way) and nothing
    else: rows_waiting, first_exported_on and days_waiting are the full computation's (a re-export that
    moves a reference to another customer, or a later version of a waiting row, is recomputed, not
    patched). A DSR erasure rewrites the customer id in raw, in the facts and in this table alike, so the
    base snapshot and the delta stay consistent.
    The facts are read through their customer index; the staging views (latest version per key, a window
    over the whole raw table) are replaced by the same latest_version() over the raw versions of the
    candidates' keys; the known customers are the raw customer versions exported by run_date (the staging
    view keeps one row per customer_id among exactly these). -#}
{#- (source_table, relation of a full build, raw table, read through the relation's customer index on a
    forward night: the incremental facts) -#}
{%- set sources = [
    ('orders', ref('fct_orders'), 'orders', true),
    ('tickets', ref('int_complaints__tickets_latest'), 'tickets', true),
    ('interactions', ref('fct_interactions'), 'interactions', true),
    ('surveys', ref('int_feedback__surveys_latest'), 'surveys', true),
    ('contacts', ref('stg_crm__contacts'), 'contacts', false),
    ('compensations', ref('stg_crm__compensations'), 'compensations', false),
    ('consents', ref('stg_crm__consents'), 'consents', false),
    ('crisis_affected_customers', ref('stg_crm__crisis_affected_customers'), 'crisis_affected_customers', false),
] -%}
{#- every source() resolved at parse time too, whichever path the build takes -#}
{%- set raw = {'customers': source('raw', 'customers')} -%}
{%- for _t, _r, table, _f in sources %}{% do raw.update({table: source('raw', table)}) %}{% endfor -%}
{%- set forward_from = incremental_snapshot_forward_from() -%}
{%- if forward_from is none %}
with known as (
    select customer_id from {{ ref('stg_crm__customers') }}
),

references_ as (
    {%- for table, relation, _raw, _fact in sources %}
    select '{{ table }}' as source_table, customer_id, exported_on
    from {{ relation }}
    where customer_id is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

waiting as (
    select r.source_table, r.customer_id, r.exported_on
    from references_ as r
    left join known as k on k.customer_id = r.customer_id
    where k.customer_id is null
)
{%- else %}
with arrived as (
    select source_table, customer_id
    from {{ this }}
    where run_date = date '{{ forward_from }}'
    {%- for table, _relation, raw_table, _fact in sources %}

    union

    select '{{ table }}', customer_id
    from {{ raw[raw_table] }}
    where _export_date > date '{{ forward_from }}' and _export_date <= {{ run_date() }}
      and customer_id is not null
    {%- endfor %}
),

candidates as (
    select a.source_table, a.customer_id
    from arrived as a
    where not exists (
        select 1 from {{ raw['customers'] }} as k
        where k.customer_id = a.customer_id and k._export_date <= {{ run_date() }}
    )
),

references_ as (
    {%- for table, relation, raw_table, fact in sources %}
    {%- set of_table = "(select customer_id from candidates where source_table = '" ~ table ~ "')" %}
    {%- if fact %}
    select '{{ table }}' as source_table, customer_id, exported_on
    from {{ relation }}
    where customer_id = any(array{{ of_table }})
    {%- else %}
    {%- set spec = contract_table(raw_table) %}
    {%- set keys = spec.key | join(', ') %}
    {#- the versions exported by run_date of every key a candidate has a version of; a key holding
        customer_id has all its versions under one customer -#}
    {%- set versions -%}
    (select * from {{ raw[raw_table] }}
     where {% if 'customer_id' in spec.key -%}
        customer_id in {{ of_table }}
     {%- else -%}
        ({{ keys }}) in (
            select {{ keys }} from {{ raw[raw_table] }}
            where customer_id in {{ of_table }} and _export_date <= {{ run_date() }}
        )
     {%- endif %})
    {%- endset %}
    select '{{ table }}' as source_table, v.customer_id, v._export_date as exported_on
    from ({{ latest_version(versions, spec.key, version_column=spec.version_column) }}) as v
    where v.customer_id in {{ of_table }}
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

waiting as (
    select * from references_
)
{%- endif %}

select
    {{ run_date() }} as run_date,
    r.source_table,
    r.customer_id,
    count(*) as rows_waiting,
    min(r.exported_on) as first_exported_on,
    {{ run_date() }} - min(r.exported_on) as days_waiting
from waiting as r
group by r.source_table, r.customer_id
