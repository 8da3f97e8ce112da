{#- Nothing lost on the way into staging: the model has exactly as many rows per load
    batch as its raw source (for staging models that keep every raw row). -#}
{% test same_rows_as_source(model, source_name, table_name, batch_column='batch_id') %}
with

raw_rows as (

    select
        _batch_id as batch_id,
        count(*) as raw_count
    from {{ source(source_name, table_name) }}
    group by _batch_id

),

staged as (

    select
        {{ batch_column }} as batch_id,
        count(*) as staged_count
    from {{ model }}
    group by {{ batch_column }}

)

select
    coalesce(raw_rows.batch_id, staged.batch_id) as batch_id,
    raw_rows.raw_count,
    staged.staged_count
from raw_rows
full outer join staged on raw_rows.batch_id = staged.batch_id
where raw_rows.raw_count is distinct from staged.staged_count
{% endtest %}
