{#- One report per center and year: a corrected workbook delivered later (a later load
    batch) replaces the earlier one. Only workbooks with at least one valid indicator
    count; one with none is all in ops.rejects. Every version stays in
    int_reports__report_versions. -#}
with

versions as (

    select * from {{ ref('int_reports__report_versions') }}

),

latest as (

    select
        center_code,
        report_year,
        batch_id,
        source_file,
        version_number,
        has_dropped_indicators,
        dropped_indicators
    from versions
    where is_current_version

)

select * from latest
