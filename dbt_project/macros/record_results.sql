{#- dbt's node results into ops.dbt_results (on-run-end), where the audit and the
    publish step read them: the tests that ran, whatever process or worker ran them.
    A build is every invocation sharing TTW_BUILD_ID (the build_warehouse DAG sets its
    run id; `ttw build` leaves it unset and the invocation is the build). -#}
{% macro record_results(results) %}
    {%- if execute and results -%}
        {%- set build_id = env_var('TTW_BUILD_ID', '') or invocation_id %}
insert into ops.dbt_results (
    build_id, invocation_id, command, unique_id, resource_type, node_schema, node_name,
    materialized, status, failures, message, execution_seconds
) values
        {%- for result in results %}
    (
        {{ sql_literal(build_id) }}, {{ sql_literal(invocation_id) }}, {{ sql_literal(flags.WHICH) }},
        {{ sql_literal(result.node.unique_id) }}, {{ sql_literal(result.node.resource_type) }},
        {{ sql_literal(result.node.schema) }}, {{ sql_literal(result.node.alias or result.node.name) }},
        {{ sql_literal(result.node.config.materialized) }}, {{ sql_literal(result.status) }},
        {{ result.failures if result.failures is not none else 'null' }},
        {{ sql_literal(result.message) }}, {{ result.execution_time or 0 }}
    ){{ "," if not loop.last }}
        {%- endfor %};
    {%- endif -%}
{% endmacro %}

{% macro sql_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("'", "''") }}'{%- endif -%}
{%- endmacro %}
