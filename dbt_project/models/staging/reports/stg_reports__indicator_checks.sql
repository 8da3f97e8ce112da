{#- Every reported indicator with the rules it breaks; valid ones flow on to
    stg_reports__indicators, the others become ops.rejects. -#}
with

indicators as (

    select * from {{ source('reports', 'report_indicators') }}

),

fields as (

    select * from {{ source('reports', 'report_fields') }}

),

report_keys as (

    select
        _batch_id,
        max(value) filter (where label = '中心编号') as center_code,
        max(value) filter (where label = '报告年度') as report_year_text
    from fields
    group by _batch_id

),

checked as (

    select
        indicators.*,
        coalesce(
            nullif(btrim(report_keys.center_code), ''),
            substring(indicators._source_file from '年度报告_([^_/]+)_\d{4}\.xlsx$')
        ) as center_code,
        coalesce(
            substring(btrim(report_keys.report_year_text) from '^(\d{4})'),
            substring(indicators._source_file from '年度报告_[^_/]+_(\d{4})\.xlsx$')
        )::int as report_year,
        staging.parse_number(indicators.value) as numeric_value,
        to_jsonb(indicators) - '_batch_id' - '_source_file' - '_row_number' - '_loaded_at' as payload,
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
                end
            ],
            null
        ) as failures
    from indicators
    left join report_keys
        on indicators._batch_id = report_keys._batch_id

)

select * from checked
