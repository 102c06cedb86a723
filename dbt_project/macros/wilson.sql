{#- One bound of the Wilson score interval of a proportion `p` over `n` trials at normal quantile `z`
    (`sign` '-' for the lower bound, '+' for the upper). RP-15's uplift interval (list_outcomes, Newcombe's
    hybrid method) combines four of them: the formula is written once here. -#}
{% macro wilson_bound(p, n, z, sign) -%}
    (({{ p }} + {{ z }} * {{ z }} / (2 * {{ n }}))
     {{ sign }} {{ z }} * sqrt({{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4.0 * {{ n }} * {{ n }})))
    / (1 + {{ z }} * {{ z }} / {{ n }})
{%- endmacro %}
