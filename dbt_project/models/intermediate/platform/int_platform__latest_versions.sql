{#- The state of every platform record: its newest valid version (docs/sources.md: the same
    record may come on two pages while data changes; the newest updated_at wins). A
    deleted record's state is its tombstone. -#}
-- a table: every platform fact reads it
{{ config(materialized='table') }}
with

records as (

    select * from {{ ref('stg_platform__records') }}

),

ranked as (

    select
        records.platform,
        records.resource,
        records.record_id,
        records.updated_at,
        records.batch_id,
        records.source_row_number,
        row_number() over (
            partition by records.platform, records.resource, records.record_id
            order by records.updated_at desc, records.batch_id desc, records.source_row_number desc
        ) as version_rank,
        max(records.batch_id) over (
            partition by records.platform, records.resource, records.record_id
        ) as last_batch_id
    from records

)

select * from ranked
