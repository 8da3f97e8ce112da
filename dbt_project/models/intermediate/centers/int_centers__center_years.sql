{#- Every year a center was in the system (its roster version on 31 December of the year
    says 建设期 or 运行期), with the report it filed for that year, if any. The years run
    from the first roster to the last roster or report year. A year no report of any
    center has reached yet is awaiting reports: it is not graded (docs/evaluation.md,
    "When reports are late"). A center approved after the policy's grading cut-off of a
    year (default 30 June) is new (新建) that year: listed, not graded, and the year is
    used nowhere (docs/evaluation.md, "Decisions"). -#}
-- a table: fct_center_indicators and the tests read it
{{ config(materialized='table') }}
with

versions as (

    select * from {{ ref('int_centers__roster_versions') }}

),

reports as (

    select * from {{ ref('int_reports__latest_reports') }}

),

policy as (

    select * from {{ ref('evaluation_policy') }}

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
        versions.approved_on,
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

-- the policy in force in a year: the latest version starting in or before it
policy_years as (

    select distinct on (years.evaluation_year)
        years.evaluation_year,
        policy.policy_version,
        to_date(years.evaluation_year || '-' || policy.grading_cutoff, 'YYYY-MM-DD') as grading_cutoff
    from years
    inner join policy
        on years.evaluation_year >= policy.first_year
    order by years.evaluation_year asc, policy.first_year desc

),

flagged as (

    select
        center_years.*,
        policy_years.policy_version,
        policy_years.grading_cutoff,
        -- no policy for the year (before the first version): nobody is new
        coalesce(center_years.approved_on > policy_years.grading_cutoff, false) as is_new_center,
        center_years.evaluation_year
        between extract(year from center_years.build_start) and extract(year from center_years.build_end)
            as is_in_build_period
    from center_years
    left join policy_years
        on center_years.evaluation_year = policy_years.evaluation_year

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
    from flagged as center_years
    left join reports
        on
            center_years.center_code = reports.center_code
            and center_years.evaluation_year = reports.report_year

)

select
    *,
    not is_awaiting_reports and not is_new_center as is_graded
from final
