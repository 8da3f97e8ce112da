-- Nothing lost: every raw registry row of every batch is either a valid staging row or
-- in ops.rejects (with at least one rule), and never both.
with

raw_rows as (

    select
        _batch_id as batch_id,
        count(*) as raw_count
    from {{ source('registry', 'registry_contracts') }}
    group by _batch_id

),

staged as (

    select
        batch_id,
        count(*) as staged_count
    from {{ ref('stg_registry__contracts') }}
    group by batch_id

),

rejected as (

    select
        batch_id,
        count(distinct source_row_number) as rejected_count
    from {{ ref('rejects') }}
    where source_family = 'registry_contracts'
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
