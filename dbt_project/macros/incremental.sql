{#- The rows an incremental model must look at: those from load batches newer than the
    newest batch it has already seen. Raw batches are append-only (a re-delivered file is
    a no-op), so a batch id is a safe high-water mark. On a full refresh: every row. -#}
{% macro newer_batches(batch_column, seen_column='last_batch_id') -%}
    {%- if is_incremental() -%}
        {{ batch_column }} > (select coalesce(max({{ seen_column }}), 0) from {{ this }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
