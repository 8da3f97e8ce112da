{#- The problems and plans (问题与计划 sheet) of the current version of each center's annual
    report: one row per filled cell, in reading order (row, then column), each with the
    workbook and cell it came from. Headings the center wrote (存在问题, 下一年度计划)
    are items too. A re-delivered report replaces the items of its own center and year. -#}
with

plans as (

    select * from {{ ref('stg_reports__plans') }}

),

reports as (

    select * from {{ ref('int_reports__latest_reports') }}

),

final as (

    {{ current_report_items(
        'plans',
        ['plan_text'],
        order_by=[
            "substring(plans.source_cell from '([0-9]+)$')::int",
            "length(substring(plans.source_cell from '!([A-Z]+)[0-9]+$'))",
            "substring(plans.source_cell from '!([A-Z]+)[0-9]+$')",
        ],
    ) }}

)

select * from final
