{{ config(tags=["lists"]) }}
{#- The platform's own earlier published lists (lists.retention_list / lists.compensation_list, run dates
    before var('run_date')): rule cooldowns (retention) and the compensation ledger (CP-14) read them. The
    published tables are written by crm_scoring.lists.publish, not by dbt: declared sources, created empty
    before the first build (create_source_tables), so this model returns no rows until a list was
    published. A rerun of a date never sees its own earlier publication. -#}
select 'retention'::text as list_name, run_date::date as run_date, customer_id::text as customer_id,
       rule_code::text as rule_code, null::text as ledger_key, null::numeric as amount
from {{ source('published_lists', 'retention_list') }}
where run_date < {{ run_date() }}
union all
select 'compensation', run_date, customer_id, rule_code, ledger_key, amount::numeric
from {{ source('published_lists', 'compensation_list') }}
where run_date < {{ run_date() }}
