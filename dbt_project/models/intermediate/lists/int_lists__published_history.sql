{{ config(tags=["lists"]) }}
{#- The platform's own earlier published lists (lists.retention_list / lists.compensation_list, run dates
    before var('run_date')): rule cooldowns (retention) and the compensation ledger (CP-14) read them. The
    published tables are created by crm_scoring.lists.publish, not by dbt, so this adapter returns no rows
    until they exist (first run). A rerun of a date never sees its own earlier publication. -#}
{%- set ret = none -%}
{%- set comp = none -%}
{%- set comp_cols = [] -%}
{%- if execute -%}
    {%- set ret = adapter.get_relation(database=target.database, schema='lists', identifier='retention_list') -%}
    {%- set comp = adapter.get_relation(database=target.database, schema='lists', identifier='compensation_list') -%}
    {%- if comp is not none -%}
        {%- set comp_cols = adapter.get_columns_in_relation(comp) | map(attribute='name') | list -%}
    {%- endif -%}
{%- endif %}
{%- if ret is not none %}
select 'retention'::text as list_name, run_date::date as run_date, customer_id::text as customer_id,
       rule_code::text as rule_code, null::text as ledger_key, null::numeric as amount
from {{ ret }}
where run_date < {{ run_date() }}
{%- else %}
select 'retention'::text as list_name, null::date as run_date, null::text as customer_id,
       null::text as rule_code, null::text as ledger_key, null::numeric as amount
where false
{%- endif %}
union all
{%- if comp is not none %}
select 'compensation', run_date, customer_id, rule_code,
       {%- if 'ledger_key' in comp_cols %} ledger_key,
       {%- else %} case when ticket_id is not null then 'ticket:' || ticket_id else 'crisis:' || crisis_event_id end || ':' || round_no,
       {%- endif %}
       amount::numeric
from {{ comp }}
where run_date < {{ run_date() }}
{%- else %}
select 'compensation', null::date, null::text, null::text, null::text, null::numeric
where false
{%- endif %}
