{#- Models land in exactly the schema they name (staging, intermediate, ...), not in
    "<target schema>_<custom schema>": the warehouse layers are fixed names that the
    loaders, the audit and the publish step rely on. Without a custom schema a model
    lands in the target schema, marts_build. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
