{#- Every value of every version of every center's annual report: what each workbook
    reported, the versions a re-delivery replaced included (fct_center_indicators holds
    the current version's values only). -#}
with

indicators as (

    select * from {{ ref('stg_reports__indicators') }}

),

versions as (

    select * from {{ ref('int_reports__report_versions') }}

),

catalog as (

    select * from {{ ref('report_indicators') }}

),

final as (

    select
        versions.center_code,
        versions.report_year,
        versions.version_number,
        versions.is_current_version,
        catalog.indicator_code,
        indicators.indicator as indicator_name,
        indicators.unit,
        indicators.reported_value,
        indicators.source_cell,
        versions.source_file,
        versions.batch_id
    from indicators
    inner join versions
        on indicators.batch_id = versions.batch_id
    inner join catalog
        on indicators.indicator = catalog.indicator_name

)

select * from final
