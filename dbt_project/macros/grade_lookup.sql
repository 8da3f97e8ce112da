{#- The grade a score earns under a scheme version (grade_thresholds): the highest
    threshold at or below the score rounded to the 2 decimals evaluators see. Use as a
    join: `left join lateral ( grade_lookup(...) ) as grades on true`. -#}
{% macro grade_lookup(score, scheme_version) -%}
    select
        thresholds.grade,
        thresholds.grade_en,
        thresholds.grade_order
    from {{ ref('grade_thresholds') }} as thresholds
    where
        thresholds.scheme_version = {{ scheme_version }}
        and thresholds.min_score <= round({{ score }}, 2)
    order by thresholds.min_score desc
    limit 1
{%- endmacro %}
