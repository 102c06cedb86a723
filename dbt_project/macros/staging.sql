{#- A staging view of one landing-contract table (ST-06), written once for every stg_crm__* model: only
    renames, casts and masking. The columns, key and version column come from the contract
    (macro contract_table, generated from crm_scoring/contract.py), so a contract column cannot be
    forgotten by a view, and each view states only what it changes:
      columns     {contract column: select expression}, e.g. {'channel': 'channel as order_channel'};
                  every PII column of the contract must be masked here (compile error otherwise);
      add_after   {contract column: [select expressions]}: derived columns placed after that column;
      every_version
                  false: the latest version per key as of var('run_date') (macro latest_version);
                  true: every version exported on or before the run date, with its line number: the
                  incremental fact above it resolves the latest (macro incremental_latest).
    An optional version column (updated_at) defaults to the export date (landing contract), as in
    latest_version's ordering. Then the load bookkeeping: exported_on, source_file (source_line_no). -#}
{% macro staging_view(table, columns={}, add_after={}, every_version=false) -%}
{%- set spec = contract_table(table) -%}
{%- for col in spec.pii if col not in columns -%}
    {{ exceptions.raise_compiler_error("staging_view('" ~ table ~ "'): PII column " ~ col ~ " must be masked (columns=)") }}
{%- endfor -%}
with source as (
    {% if every_version -%}
    select *
    from {{ source('raw', table) }}
    where _export_date <= {{ run_date() }}
    {%- else -%}
    {{ latest_version(source('raw', table), spec.key, version_column=spec.version_column) }}
    {%- endif %}
),

renamed as (
    select
        {%- for col in spec.columns %}
        {%- if col in columns %}
        {{ columns[col] }},
        {%- elif col == spec.version_column and spec.version_optional %}
        coalesce({{ col }}, _export_date::timestamp at time zone 'UTC') as {{ col }},
        {%- else %}
        {{ col }},
        {%- endif %}
        {%- for expression in add_after.get(col, []) %}
        {{ expression }},
        {%- endfor %}
        {%- endfor %}
        _export_date as exported_on,
        _source_file as source_file
        {%- if every_version %},
        _line_no as source_line_no
        {%- endif %}
    from source
)

select * from renamed
{%- endmacro %}
