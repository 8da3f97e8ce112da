{#- Every year a center was in the system (its roster version on 31 December of the year
    says 建设期 or 运行期), with the report it filed for that year, if any. The years run
    from the first roster to the last roster or report year. A year no report of any
    center has reached yet is awaiting reports: it is not graded (docs/evaluation.md,
    "When reports are late"). -#}
-- a table: fct_center_indicators and the tests read it
{{ config(materialized='table') }}
with

versions as (

    select * from {{ ref('int_centers__roster_versions') }}

),

reports as (

    select * from {{ ref('int_reports__latest_reports') }}

),

years as (

    select generate_series(
        (select min(first_roster_year) from versions),
        greatest(
            (select max(last_roster_year) from versions),
            (select max(report_year) from reports)
        )
    ) as evaluation_year

),

center_years as (

    select
        versions.center_code,
        years.evaluation_year,
        versions.version_number,
        versions.center_name,
        versions.host_org_name,
        versions.host_credit_code,
        versions.district_code,
        versions.industry,
        versions.build_start,
        versions.build_end,
        versions.status
    from years
    inner join versions
        on
            versions.valid_from <= make_date(years.evaluation_year, 12, 31)
            and (versions.valid_to is null or versions.valid_to > make_date(years.evaluation_year, 12, 31))
    where versions.is_in_system

),

final as (

    select
        center_years.*,
        reports.batch_id as report_batch_id,
        reports.source_file as report_file,
        reports.batch_id is not null as has_report,
        coalesce(reports.has_dropped_indicators, false) as has_dropped_indicators,
        reports.dropped_indicators,
        not exists (
            select 1 from reports as year_reports
            where year_reports.report_year = center_years.evaluation_year
        ) as is_awaiting_reports
    from center_years
    left join reports
        on
            center_years.center_code = reports.center_code
            and center_years.evaluation_year = reports.report_year

)

select * from final
