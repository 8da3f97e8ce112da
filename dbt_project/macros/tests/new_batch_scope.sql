{#- Tests scoped to the new batches on a `ttw build --changed` run.

    `ttw build --changed` passes the var scope_to_new_batches and fixes in
    ops.build_scope_batches the load batches that are new since the last whole build that
    passed (every older row passed every test of that build). A model opts in with
    meta `new_batch_rows`: a predicate over its rows naming `__new_batches__`, true for
    the rows a new batch added or rewrote (e.g. "batch_id in __new_batches__"). Then:

    - not_null, accepted_values and relationships read only those rows: each is a rule
      on one row, which an old row kept passing (a dimension only gains keys);
    - unique and unique_combination read every row whose key a new row carries, old or
      new, so a new row repeating an old key still fails;
    - every other generic test (staged_or_rejected counts every batch) reads the whole
      model, as does every test when the var is not set (a plain or --full-refresh build).

    A test's own `where` config may name `__new_batches__` too: it is kept on a scoped run
    and dropped otherwise. Singular tests scope themselves with new_batches_only(). -#}
{% macro new_batches_relation() -%}
    (select scope.batch_id from ops.build_scope_batches as scope)
{%- endmacro %}

{% macro new_batches_only() -%}
    {{ return(var('scope_to_new_batches', false) and execute) }}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set scoped = var('scope_to_new_batches', false) -%}
    {%- if where and '__new_batches__' in where -%}
        {%- set where = where | replace('__new_batches__', new_batches_relation()) if scoped else '' -%}
    {%- elif not where and scoped -%}
        {%- set where = _new_batch_where() -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{% macro _new_batch_where() -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- set rows = tested.config.meta.get('new_batch_rows') if tested else none -%}
    {%- set metadata = model.test_metadata or {} -%}
    {%- set name = metadata.get('name') -%}
    {%- set kwargs = metadata.get('kwargs', {}) -%}
    {%- if not rows -%}
        {{ return('') }}
    {%- endif -%}
    {%- set rows = rows | replace('__new_batches__', new_batches_relation()) -%}
    {%- if name in ('not_null', 'accepted_values', 'relationships') -%}
        {{ return(rows) }}
    {%- elif name in ('unique', 'unique_combination') -%}
        {%- set keys = [kwargs.get('column_name')] if name == 'unique' else kwargs.get('columns') -%}
        {%- set key_list = keys | join(', ') -%}
        {{ return('(' ~ key_list ~ ') in (select ' ~ key_list ~ ' from ' ~ tested.relation_name ~ ' where ' ~ rows ~ ')') }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
