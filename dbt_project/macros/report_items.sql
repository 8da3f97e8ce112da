{#- The items of one sheet of the centers' annual reports (achievements, plans): those of
    each center's report in force (int_reports__latest_reports), numbered in the sheet's
    order within their workbook, with the report's center, year and version and the
    workbook and cell each came from. `items`: the CTE of the staged sheet; `columns`: its
    own columns, in order; `order_by`: SQL for the sheet's order; `reports`: the CTE of the
    reports in force. -#}
{% macro current_report_items(items, columns, order_by, reports='reports') -%}
    select
        {{ reports }}.center_code,
        {{ reports }}.report_year,
        row_number() over (
            partition by {{ items }}.batch_id
            order by {{ order_by | join(', ') }}
        )::int as item_order,
        {{ items }}.{{ columns | join(', ' ~ items ~ '.') }},
        {{ reports }}.version_number as report_version_number,
        {{ items }}.source_file,
        {{ items }}.source_cell,
        {{ items }}.batch_id
    from {{ items }}
    inner join {{ reports }}
        on {{ items }}.batch_id = {{ reports }}.batch_id
{%- endmacro %}
