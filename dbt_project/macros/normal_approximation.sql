{#- Standard-normal helpers for set-based tests in SQL (PostgreSQL has no erf or probit).
    RP-11's A/B test (campaign_ab_results) turns a significance level into a critical z and a z statistic
    into a p-value with them; both are rational approximations from Abramowitz & Stegun, exact enough for
    a reporting verdict (|error| < 4.5e-4 in z, < 1.5e-7 in p) and written once here. -#}

{#- z such that P(Z > z) = q, for 0 < q <= 0.5 (A&S 26.2.23): alpha 0.05 two-sided -> q 0.025 -> 1.960. -#}
{% macro normal_upper_quantile(q) -%}
    (sqrt(-2 * ln({{ q }}))
     - (2.515517 + 0.802853 * sqrt(-2 * ln({{ q }})) + 0.010328 * (-2 * ln({{ q }})))
       / (1 + 1.432788 * sqrt(-2 * ln({{ q }})) + 0.189269 * (-2 * ln({{ q }}))
          + 0.001308 * power(sqrt(-2 * ln({{ q }})), 3)))
{%- endmacro %}

{#- Two-sided p-value of a z statistic, P(|Z| >= |z|) = 1 - erf(|z| / sqrt 2) (A&S 7.1.26). -#}
{% macro normal_two_sided_p(z) -%}
    (exp(-power({{ z }}, 2) / 2)
     * (0.254829592 * (1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2)))
        - 0.284496736 * power(1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2)), 2)
        + 1.421413741 * power(1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2)), 3)
        - 1.453152027 * power(1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2)), 4)
        + 1.061405429 * power(1 / (1 + 0.3275911 * abs({{ z }}) / sqrt(2)), 5)))
{%- endmacro %}
