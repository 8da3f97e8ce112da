{#- Every month from the first registry export's to the newest one's, and whether it is
    complete (docs/bi.md, "Complete periods"): a month is complete when its registry
    export arrived; a year is complete when all twelve of its exports did. A January
    delivery alone does not complete its year, so "the newest complete year" does not move
    to a year with one month of data. -#}
-- a table: three report tables and data_freshness join it
{{ config(materialized='table') }}
with

exports as (

    select distinct period_start as month_start
    from {{ ref('int_meta__deliveries') }}
    where source_family = 'registry_contracts' and period_start is not null

),

months as (

    select
        generate_series(
            (select date_trunc('year', min(month_start)) from exports),
            (select max(month_start) from exports),
            interval '1 month'
        )::date as month_start

),

flagged as (

    select
        months.month_start,
        extract(year from months.month_start)::int as calendar_year,
        exists(
            select 1 from exports
            where exports.month_start = months.month_start
        ) as is_complete_month
    from months

),

final as (

    select
        month_start,
        calendar_year,
        is_complete_month,
        count(*) filter (where is_complete_month) over (partition by calendar_year) = 12 as is_complete_year,
        -- every month up to this one is complete: no gap before it
        bool_and(is_complete_month) over (order by month_start) as is_complete_through
    from flagged

)

select * from final
