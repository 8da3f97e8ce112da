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
    higher one was built. On a full refresh: every batch of the build.

    On an incremental run the ids are read as the model compiles, just before it runs
    (nothing else writes this model's ops.model_batches in between), and written into its
    SQL as a constant array: PostgreSQL pushes a condition on a constant into the staging
    views under the model (past their window functions over the batch) and reads only the
    new batches through the batch index, where "in (select ...)" became a semi-join above
    the views and read every row of them (int_organizations__observations: 9.4 s → 1.4 s
    at scale 10). A constant array of nine or more is hashed, so a long catch-up list stays
    cheap (all 40,119 batch ids of scale 10 against its 627,843 checked contracts: 0.43 s
    by a sequential scan). -#}
{% macro unseen_batches(batch_column) -%}
    {%- if is_incremental() -%}
        {{ batch_column }} = any({{ _unseen_batch_ids() }})
    {%- else -%}
        {{ in_build(batch_column) }}
    {%- endif -%}
{%- endmacro %}

{% macro _unseen_batch_ids() -%}
    {#- is_incremental() is true only while executing; the linter's stand-in for it is
        always true and has no database: it gets an empty array -#}
    {%- if not execute -%}
        {{ return("'{}'::bigint[]") }}
    {%- endif -%}
    {%- set found = run_query(
        "select coalesce(array_agg(build_batches.batch_id order by build_batches.batch_id)::text, '{}')"
        ~ " from ops.build_batches as build_batches where not exists ("
        ~ " select 1 from ops.model_batches as seen"
        ~ " where seen.model = '" ~ this.identifier ~ "' and seen.batch_id = build_batches.batch_id)"
    ) -%}
    '{{ found.columns[0].values()[0] }}'::bigint[]
{%- endmacro %}

{#- Post-hook of an incremental model: it has processed every batch of this build (in the
    model's own transaction, so a failed model records nothing). Rebuilt from scratch, it
    holds this build's batches alone: it forgets the others (a retracted batch). -#}
{% macro record_batches() -%}
    {%- if not is_incremental() %}
    with forgotten as (
        delete from ops.model_batches as seen
        where
            seen.model = '{{ this.identifier }}'
            and not exists (
                select 1 from ops.build_batches as build_batches
                where build_batches.batch_id = seen.batch_id
            )
    )
    {% endif -%}
    insert into ops.model_batches (model, batch_id)
    select '{{ this.identifier }}', build_batches.batch_id from ops.build_batches as build_batches
    on conflict do nothing
{%- endmacro %}

{#- dbt's own should_full_refresh (the model's full_refresh config, else --full-refresh),
    plus: while an incremental model still holds rows of a batch since retracted (ttw
    batches retract), the build rebuilds every incremental model from scratch, which
    leaves the batch's rows out. The build fixes those batches as it starts
    (ops.build_retractions), so every model of it, in any order or task, decides alike. -#}
{% macro should_full_refresh() -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is not none -%}
        {{ return(configured) }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH or not execute or model.config.materialized != 'incremental' -%}
        {{ return(flags.FULL_REFRESH) }}
    {%- endif -%}
    {%- set retracted -%}
        select exists (select 1 from ops.build_retractions)
    {%- endset -%}
    {{ return(run_query(retracted).columns[0].values()[0]) }}
{%- endmacro %}

{#- A check table's rows that break a rule are about 1% of it: a partial index lets
    ops.rejects read them without scanning the table, which an incremental build
    would otherwise do in full on every run. -#}
{% macro index_invalid_rows() -%}
    create index if not exists {{ this.identifier }}__invalid on {{ this }} (_batch_id) where not is_valid
{%- endmacro %}
