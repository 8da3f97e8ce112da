{#- Every version of every center's report for a year: each workbook with at least one
    valid indicator is a version, numbered in delivery order (load batch); the newest is
    the current one. A version lacking indicators an earlier version of the same center
    and year reported names them (dropped_indicators, in the catalog's order), so a
    partial re-delivery is flagged where evaluators look, never silently taken. -#}
with

indicators as (

    select * from {{ ref('stg_reports__indicators') }}

),

catalog as (

    select * from {{ ref('report_indicators') }}

),

workbooks as (

    select
        center_code,
        report_year,
        batch_id,
        source_file,
        min(loaded_at) as loaded_at,
        count(*) as indicator_count,
        row_number() over (partition by center_code, report_year order by batch_id) as version_number,
        row_number() over (partition by center_code, report_year order by batch_id desc) = 1 as is_current_version
    from indicators
    group by center_code, report_year, batch_id, source_file

),

-- an indicator an earlier version reported that this one does not
missing as (

    select distinct
        later.batch_id,
        catalog.indicator_name,
        catalog.sort_order
    from workbooks as later
    inner join workbooks as earlier
        on
            later.center_code = earlier.center_code
            and later.report_year = earlier.report_year
            and later.batch_id > earlier.batch_id
    inner join indicators as reported
        on earlier.batch_id = reported.batch_id
    inner join catalog
        on reported.indicator = catalog.indicator_name
    where not exists (
        select from indicators as kept
        where
            kept.batch_id = later.batch_id
            and kept.indicator = reported.indicator
    )

),

dropped as (

    select
        batch_id,
        count(*) as dropped_indicator_count,
        string_agg(indicator_name, '、' order by sort_order) as dropped_indicators
    from missing
    group by batch_id

),

final as (

    select
        workbooks.center_code,
        workbooks.report_year,
        workbooks.version_number,
        workbooks.is_current_version,
        workbooks.batch_id,
        workbooks.source_file,
        workbooks.loaded_at,
        workbooks.indicator_count,
        coalesce(dropped.dropped_indicator_count, 0) as dropped_indicator_count,
        dropped.dropped_indicator_count is not null as has_dropped_indicators,
        dropped.dropped_indicators
    from workbooks
    left join dropped
        on workbooks.batch_id = dropped.batch_id

)

select * from final
