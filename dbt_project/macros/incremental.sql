{#- The rows an incremental model must look at: those from load batches newer than the
    newest batch it has already seen. Raw batches are append-only (a re-delivered file is
    a no-op), so a batch id is a safe high-water mark. A model that appends rows of
    several sources keeps one mark per source (seen_where picks that source's rows), so
    one source's late batch is not hidden behind another's newer one. On a full
    refresh: every row. -#}
{% macro newer_batches(batch_column, seen_column='last_batch_id', seen_where=none) -%}
    {%- if is_incremental() -%}
        {{ batch_column }} > (
            select coalesce(max({{ seen_column }}), 0) from {{ this }}
            {%- if seen_where %} where {{ seen_where }}{% endif %}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A check table's rows that break a rule are about 1% of it: a partial index lets
    ops.rejects read them without scanning the table, which an incremental build
    would otherwise do in full on every run. -#}
{% macro index_invalid_rows() -%}
    create index if not exists {{ this.identifier }}__invalid on {{ this }} (_batch_id) where not is_valid
{%- endmacro %}
