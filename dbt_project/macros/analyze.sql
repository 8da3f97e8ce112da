{#- Fresh planner statistics. A table dbt has just created, or raw tables a loader has
    just filled, have none until autovacuum gets to them, and the planner then guesses
    one row and picks nested loops over thousands: analyze them as part of the build. -#}
{% macro analyze_sources() %}
    {%- if execute -%}
        {%- set tables = [] -%}
        {%- for node in graph.sources.values() -%}
            {%- do tables.append(node.schema ~ '.' ~ node.identifier) -%}
        {%- endfor -%}
        {%- for table in tables | unique | sort %}
analyze {{ table }};
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
