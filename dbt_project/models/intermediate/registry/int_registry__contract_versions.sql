{#- Every valid version of every contract, newest first. A later export may repeat a
    registration_no with corrected values: the newest export month wins whatever order
    the files were loaded in; within one export, the later load, then the later row. -#}
with

contracts as (

    select * from {{ ref('stg_registry__contracts') }}

),

ranked as (

    select
        contracts.*,
        row_number() over (
            partition by contracts.registration_no
            order by
                contracts.export_period desc nulls last,
                contracts.batch_id desc,
                contracts.source_row_number desc
        ) as version_rank,
        max(contracts.batch_id) over (partition by contracts.registration_no) as last_batch_id
    from contracts

)

select * from ranked
