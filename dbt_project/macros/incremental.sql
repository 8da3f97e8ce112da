{#- The load batches a build reads: those committed when it started, which `ttw build`
    (or the build_warehouse DAG's first task) fixes in ops.build_batches. Rows committed
    while a build runs wait for the next one, so every model and every nothing-lost test
    of one build counts over the same batches. -#}
{% macro in_build(batch_column) -%}
    {{ batch_column }} in (select build_batches.batch_id from ops.build_batches as build_batches)
{%- endmacro %}

{#- The rows an incremental model must look at: those from the build's batches that the
    model has not processed yet (ops.model_batches, written by record_batches as the model
    commits). A set difference, not "ids above the newest seen": batch ids are taken
    when a load starts and loads commit in any order, so a batch can commit after a
    higher one was built. On a full refresh: every batch of the build. -#}
{% macro unseen_batches(batch_column) -%}
    {%- if is_incremental() -%}
        {{ batch_column }} in (
            select build_batches.batch_id from ops.build_batches as build_batches
            where not exists (
                select 1 from ops.model_batches as seen
                where seen.model = '{{ this.identifier }}' and seen.batch_id = build_batches.batch_id
            )
        )
    {%- else -%}
        {{ in_build(batch_column) }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of an incremental model: it has processed every batch of this build (in the
    model's own transaction, so a failed model records nothing). -#}
{% macro record_batches() -%}
    insert into ops.model_batches (model, batch_id)
    select '{{ this.identifier }}', build_batches.batch_id from ops.build_batches as build_batches
    on conflict do nothing
{%- endmacro %}

{#- A check table's rows that break a rule are about 1% of it: a partial index lets
    ops.rejects read them without scanning the table, which an incremental build
    would otherwise do in full on every run. -#}
{% macro index_invalid_rows() -%}
    create index if not exists {{ this.identifier }}__invalid on {{ this }} (_batch_id) where not is_valid
{%- endmacro %}
