-- Every staged report lands in fct_center_indicators: its center-year is one the roster
-- puts in the system (staging rejects the others), and every center-year has exactly one
-- row per indicator of the catalog, reported or not.
with

staged as (

    select distinct
        center_code,
        report_year
    from {{ ref('stg_reports__indicators') }}

),

center_rows as (

    select
        center_code,
        evaluation_year,
        count(*) as indicator_rows
    from {{ ref('fct_center_indicators') }}
    group by 1, 2

),

catalog as (

    select count(*) as indicator_count from {{ ref('report_indicators') }}

)

select
    staged.center_code,
    staged.report_year,
    'staged report has no center-year' as problem
from staged
left join center_rows
    on
        staged.center_code = center_rows.center_code
        and staged.report_year = center_rows.evaluation_year
where center_rows.center_code is null

union all

select
    center_rows.center_code,
    center_rows.evaluation_year,
    'center-year does not have one row per indicator' as problem
from center_rows
cross join catalog
where center_rows.indicator_rows <> catalog.indicator_count
