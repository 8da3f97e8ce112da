{#- Every reported indicator with the rules it breaks; valid ones flow on to
    stg_reports__indicators, the others become ops.rejects. -#}
-- a table: the rejects, the staged indicators and their tests all read it
{{ config(materialized='table') }}
with

indicators as (

    {{ rows_to_check('reports', 'report_indicators') }}

),

fields as (

    {{ rows_to_check('reports', 'report_fields') }}

),

catalog as (

    select * from {{ ref('report_indicators') }}

),

roster as (

    select * from {{ ref('stg_centers__roster') }}

),

-- the years rosters exist for (a handful of rows to search, not every roster row)
roster_years as (

    select distinct roster_year from roster

),

-- each workbook's center and year: 基本信息 first, the file name when that sheet is missing
report_keys as (

    select
        workbooks._batch_id,
        coalesce(
            nullif(btrim(max(fields.value) filter (where fields.label = '中心编号')), ''),
            substring(workbooks._source_file from '年度报告_([^_/]+)_\d{4}\.[^./]+$')
        ) as center_code,
        coalesce(
            substring(btrim(max(fields.value) filter (where fields.label = '报告年度')) from '^(\d{4})'),
            substring(workbooks._source_file from '年度报告_[^_/]+_(\d{4})\.[^./]+$')
        )::int as report_year
    from (select distinct
        _batch_id,
        _source_file
    from indicators) as workbooks
    left join fields
        on workbooks._batch_id = fields._batch_id
    group by workbooks._batch_id, workbooks._source_file

),

-- the roster in force at the end of each report year: the latest one of that year or before
governing as (

    select
        report_keys._batch_id,
        max(roster_years.roster_year) as roster_year
    from report_keys
    left join roster_years
        on report_keys.report_year >= roster_years.roster_year
    group by report_keys._batch_id

),

-- the center's standing at the end of the report year: its row in that roster
-- (docs/sources.md: a later roster supersedes an earlier one); a center that roster does
-- not list was not in the system
report_standing as (

    select distinct on (report_keys._batch_id)
        report_keys.*,
        roster.status as roster_status
    from report_keys
    inner join governing
        on report_keys._batch_id = governing._batch_id
    left join roster
        on
            report_keys.center_code = roster.center_code
            and governing.roster_year = roster.roster_year
    order by report_keys._batch_id asc, roster.batch_id desc nulls last

),

checked as (

    select
        indicators.*,
        report_standing.center_code,
        report_standing.report_year,
        staging.parse_number(indicators.value) as numeric_value,
        {{ delivered_row('indicators') }} as payload,
        array_remove(
            array[
                case
                    when nullif(btrim(indicators.value), '') is null
                        then format('missing_required_field|本年数值 of %s (%s) is empty', indicators.indicator, indicators.cell)
                end,
                case
                    when
                        nullif(btrim(indicators.value), '') is not null
                        and staging.parse_number(indicators.value) is null
                        then format(
                            'non_numeric_indicator|%s: value %L of %s is not a number',
                            indicators.cell,
                            indicators.value,
                            indicators.indicator
                        )
                end,
                {{ amount_out_of_range(
                    "format('%s: %s', indicators.cell, btrim(indicators.indicator))",
                    'staging.parse_number(indicators.value)',
                    bound='indicator_value_max',
                    unit=' in its unit',
                ) }},
                case
                    when btrim(indicators.indicator) not in (select catalog.indicator_name from catalog)
                        then format('unknown_indicator|%s: %L is not an indicator of the annual report', indicators.cell, indicators.indicator)
                end,
                case
                    when
                        row_number() over (
                            partition by indicators._batch_id, btrim(indicators.indicator)
                            order by indicators._row_number
                        ) > 1
                        then format('duplicate_indicator|%s: %s is reported twice in the workbook (the first is kept)', indicators.cell, indicators.indicator)
                end,
                case
                    when report_standing.roster_status is null or report_standing.roster_status = '已撤销'
                        then format(
                            'center_not_in_system|center %s was not in the system at the end of %s (roster status: %s)',
                            report_standing.center_code,
                            report_standing.report_year,
                            coalesce(report_standing.roster_status, 'not listed')
                        )
                end
            ],
            null
        ) as failures
    from indicators
    left join report_standing
        on indicators._batch_id = report_standing._batch_id
    {{ evaluate_once() }}

),

-- a plain flag the planner has statistics for (it cannot estimate cardinality(failures))
{{ flagged_checks() }}
