{#- Every version of every center's annual report: one row per workbook delivered for a
    center and year (with at least one valid indicator), the newest marked current. A
    re-delivery replaces the report of its own center and year only; the versions it
    replaced stay here, their values in fct_center_report_values. -#}
with

versions as (

    select * from {{ ref('int_reports__report_versions') }}

),

final as (

    select
        center_code,
        report_year,
        version_number,
        is_current_version,
        source_file,
        batch_id,
        loaded_at,
        indicator_count::int as indicator_count,
        dropped_indicator_count::int as dropped_indicator_count,
        has_dropped_indicators,
        dropped_indicators
    from versions

)

select * from final
