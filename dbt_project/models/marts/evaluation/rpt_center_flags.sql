{#- The centers an evaluator has to look at in a year, and why (docs/evaluation.md,
    "Flags"): one row per graded center-year that raises at least one flag of
    rpt_center_performance — no report, a verification gap, an annual outcome other
    than none (限期整改 or 建议撤销), listed after a removal, or a re-delivered report
    that dropped indicators. The reasons are listed in that order, in Chinese and in
    English, so every deliverable names the same ones. -#}
with

performance as (

    select * from {{ ref('rpt_center_performance') }}

),

reasons as (

    select
        center_code,
        evaluation_year,
        is_missing_report,
        has_verification_gap,
        annual_outcome <> 'none' as has_annual_outcome,
        is_listed_after_removal,
        has_dropped_indicators,
        array_remove(
            array[
                case when is_missing_report then '未报送年报' end,
                case when has_verification_gap then '核验差异' end,
                case when annual_outcome <> 'none' then annual_outcome_zh end,
                case when is_listed_after_removal then '撤销后仍在名单' end,
                case when has_dropped_indicators then '重报缺少的指标' end
            ],
            null
        ) as reasons_zh,
        array_remove(
            array[
                case when is_missing_report then 'Missing report' end,
                case when has_verification_gap then 'Verification gap' end,
                case when annual_outcome <> 'none' then annual_outcome_en end,
                case when is_listed_after_removal then 'Listed after removal' end,
                case when has_dropped_indicators then 'Indicators a re-delivery dropped' end
            ],
            null
        ) as reasons_en
    from performance

),

final as (

    select
        center_code,
        evaluation_year,
        is_missing_report,
        has_verification_gap,
        has_annual_outcome,
        is_listed_after_removal,
        has_dropped_indicators,
        cardinality(reasons_zh)::int as flag_count,
        array_to_string(reasons_zh, '、') as flag_reasons,
        array_to_string(reasons_en, ', ') as flag_reasons_en
    from reasons
    where cardinality(reasons_zh) > 0

)

select * from final
