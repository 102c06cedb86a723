{#- ST-06 / PS: PII never leaves staging unmasked. Join keys are hashed, free text is redacted. -#}

{% macro hash_email(col) -%}
    case when nullif(trim({{ col }}), '') is null then null else md5(lower(trim({{ col }}))) end
{%- endmacro %}

{% macro hash_phone(col) -%}
    case when nullif(regexp_replace({{ col }}, '[^0-9]', '', 'g'), '') is null then null
         else md5(regexp_replace({{ col }}, '[^0-9]', '', 'g')) end
{%- endmacro %}

{#- Replace e-mail addresses and phone-like digit runs (>= 7 digits, optional +, spaces, dashes,
    dots, brackets) in a free text. -#}
{% macro redact_text(col) -%}
    regexp_replace(
        regexp_replace({{ col }}, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '[EMAIL]', 'g'),
        '\+?[0-9][0-9 ().-]{5,}[0-9]', '[PHONE]', 'g')
{%- endmacro %}
