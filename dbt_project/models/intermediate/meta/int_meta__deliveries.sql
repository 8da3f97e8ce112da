{#- Every delivery the build holds (its batches in ops.build_batches), with the period it
    covers, read from the file name the delivery rules fix (docs/sources.md): a registry
    export contracts_YYYYMM covers that month, a roster centers_YYYY and an annual report
    年度报告_<center>_YYYY that year. Platform pages are continuous: no period of their own.
    data_freshness and the complete-period flags of the report tables read it. -#}
with

batches as (

    select * from {{ source('ops', 'load_batches') }}

),

build_batches as (

    select * from {{ source('ops', 'build_batches') }}

),

final as (

    select
        batches.batch_id,
        batches.source_family,
        batches.source_uri,
        batches.loaded_at,
        batches.rows_loaded,
        case batches.source_family
            when 'registry_contracts'
                then to_date(substring(batches.source_uri from 'contracts_([0-9]{6})[.][A-Za-z]+$'), 'YYYYMM')
            when 'center_roster'
                then to_date(substring(batches.source_uri from 'centers_([0-9]{4})[.][A-Za-z]+$'), 'YYYY')
            when 'center_reports'
                then to_date(substring(batches.source_uri from '_([0-9]{4})[.][A-Za-z]+$'), 'YYYY')
        end as period_start
    from batches
    inner join build_batches
        on batches.batch_id = build_batches.batch_id
    where batches.retracted_at is null

)

select * from final
