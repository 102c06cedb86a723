{#- Staging helper: the raw layer keeps every export's version of a row. Keep the rows exported on or
    before the run date and, per key, the latest version (version column, then export date, then line).
    A missing updated_at defaults to the export date (landing contract). -#}
{% macro latest_version(source_relation, key_columns, version_column=none) -%}
    select *
    from (
        select
            src.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by
                    {% if version_column is not none -%}
                    coalesce({{ version_column }}, _export_date::timestamp at time zone 'UTC') desc nulls last,
                    {% endif -%}
                    _export_date desc,
                    _line_no desc
            ) as _version_rank
        from {{ source_relation }} as src
        where _export_date <= {{ run_date() }}
    ) as versions
    where _version_rank = 1
{%- endmacro %}
