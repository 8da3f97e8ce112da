{#- Ends a CTE whose computed columns are read more than once further on. PostgreSQL
    inlines a CTE read once into its reader and copies each computed column's expression
    to every place that reads it, so `checked.failures` read by `checked.*` and by
    `cardinality(checked.failures)` built the rule array twice a row. `offset 0` keeps
    the CTE a subquery of its own, evaluated once a row, without materializing it. -#}
{% macro evaluate_once() -%}
    offset 0
{%- endmacro %}
