{#- The major achievements (重大成果 sheet) of the current version of each center's annual
    report: one row per item, in the sheet's order, each with the workbook and cell it
    came from. A re-delivered report replaces the items of its own center and year. -#}
with

achievements as (

    select * from {{ ref('stg_reports__achievements') }}

),

reports as (

    select * from {{ ref('int_reports__latest_reports') }}

),

final as (

    select
        reports.center_code,
        reports.report_year,
        row_number() over (
            partition by achievements.batch_id
            order by substring(achievements.source_cell from '([0-9]+)$')::int
        )::int as item_order,
        achievements.achievement_name,
        achievements.achievement_type,
        achievements.completed_period,
        achievements.note,
        reports.version_number as report_version_number,
        achievements.source_file,
        achievements.source_cell,
        achievements.batch_id
    from achievements
    inner join reports
        on achievements.batch_id = reports.batch_id

)

select * from final
