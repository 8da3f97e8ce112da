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

    {{ current_report_items(
        'achievements',
        ['achievement_name', 'achievement_type', 'completed_period', 'note'],
        order_by=["substring(achievements.source_cell from '([0-9]+)$')::int"],
    ) }}

)

select * from final
