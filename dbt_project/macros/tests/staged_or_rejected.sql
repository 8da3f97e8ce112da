{#- Nothing lost: for every load batch, the raw rows of a source equal the model's (valid)
    rows plus the distinct rows ops.rejects holds for the family — never both, never none. -#}
{% test staged_or_rejected(model, source_name, table_name, family) %}
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
        batch_id,
        count(*) as staged_count
    from {{ model }}
    group by batch_id

),

rejected as (

    select
        batch_id,
        count(distinct source_row_number) as rejected_count
    from {{ ref('rejects') }}
    where source_family = '{{ family }}' and source_row_number is not null
    group by batch_id

)

select
    raw_rows.batch_id,
    raw_rows.raw_count,
    coalesce(staged.staged_count, 0) as staged_count,
    coalesce(rejected.rejected_count, 0) as rejected_count
from raw_rows
left join staged on raw_rows.batch_id = staged.batch_id
left join rejected on raw_rows.batch_id = rejected.batch_id
where raw_rows.raw_count <> coalesce(staged.staged_count, 0) + coalesce(rejected.rejected_count, 0)
{% endtest %}
