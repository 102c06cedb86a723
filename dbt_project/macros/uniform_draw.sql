{% macro uniform_draw(parts) -%}
{#- A deterministic uniform draw in [0, 1) from the parts joined by '|': the first 60 bits of their md5
    over 2^60. The hold-out of every list (CH-08, per customer, rule and policy salt) and the RL-10
    sample draw it; the same parts always draw the same number, whatever the night or the order of the
    rows, and a new salt redraws everyone. `parts` are SQL expressions of type text. -#}
(('x' || substr(md5({{ parts | join(" || '|' || ") }}), 1, 15))::bit(60)::bigint / 1152921504606846976.0)
{%- endmacro %}
