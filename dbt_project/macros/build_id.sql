{#- The build a model runs in, as a text literal: TTW_BUILD_ID (the build_warehouse DAG's
    run id, `ttw build`'s own id), else dbt's invocation id. record_results keys
    ops.dbt_results by the same id. (The lint templater has no env_var: 'lint' there.) -#}
{% macro build_id() -%}
    {%- if env_var is defined -%}
        '{{ env_var('TTW_BUILD_ID', '') or invocation_id }}'::text
    {%- else -%}
        'lint'::text
    {%- endif -%}
{%- endmacro %}
