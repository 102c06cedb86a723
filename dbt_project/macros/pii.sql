{#- ST-06 / PS: PII never leaves staging unmasked. Join keys are hashed, free text is redacted. -#}

{% macro hash_email(col) -%}
    case when nullif(trim({{ col }}), '') is null then null else md5(lower(trim({{ col }}))) end
{%- endmacro %}

{% macro hash_phone(col) -%}
    case when nullif(regexp_replace({{ col }}, '[^0-9]', '', 'g'), '') is null then null
         else md5(regexp_replace({{ col }}, '[^0-9]', '', 'g')) end
{%- endmacro %}

{#- Free text is redacted by `redact_text` (macros/redact_text.sql), generated from enrich/redact.py. -#}
