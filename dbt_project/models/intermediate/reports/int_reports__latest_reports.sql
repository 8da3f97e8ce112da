{#- One report per center and year: a corrected workbook delivered later (a later load
    batch) replaces the earlier one. Only workbooks with at least one valid indicator
    count; one with none is all in ops.rejects. -#}
with

indicators as (

    select * from {{ ref('stg_reports__indicators') }}

),

workbooks as (

    select distinct
        center_code,
        report_year,
        batch_id,
        source_file
    from indicators

),

latest as (

    select distinct on (center_code, report_year)
        center_code,
        report_year,
        batch_id,
        source_file
    from workbooks
    order by center_code asc, report_year asc, batch_id desc

)

select * from latest
