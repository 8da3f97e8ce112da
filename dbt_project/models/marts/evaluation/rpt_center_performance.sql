{#- One row per graded center-year (docs/evaluation.md): the total score and grade
    (int_evaluation__annual_results), rank in the city and in its industry, change on the
    year before, the annual dynamic adjustment (限期整改 stays, 建议撤销 after consecutive
    failing years while in the system; label and boolean from one seed row), and the
    flags evaluators act on, among them the roster cross-check: a center an earlier
    evaluation removed (建议撤销, or 不予纳入 at the end of its build period) that this year's
    roster still lists. A center without a report is graded (registry-verified figures
    still count) and flagged, not dropped. A new center's first year (approved after the
    cut-off) is in rpt_center_new_centers, not here; a year awaiting reports is nowhere. -#}
-- indexes for the BI queries (tools/ttw_dev/bench/queries); publish copies them to marts
{{
    config(
        indexes=[
            {'columns': ['center_code', 'evaluation_year']},
            {'columns': ['evaluation_year', 'overall_rank']},
        ],
    )
}}

with

center_years as (

    select * from {{ ref('int_centers__center_years') }}
    where is_graded

),

annual as (

    select * from {{ ref('int_evaluation__annual_results') }}

),

comprehensive as (

    select * from {{ ref('rpt_center_comprehensive_evaluation') }}

),

indicators as (

    select * from {{ ref('fct_center_indicators') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

labels as (

    select * from {{ ref('evaluation_labels') }}

),

-- a self-reported figure the registry can check, off by more than the allowed share
verification_gaps as (

    select
        center_code,
        evaluation_year,
        count(*) as gap_count
    from indicators
    where
        reported_value is not null
        and registry_verified_value is not null
        and abs(reported_value - registry_verified_value)
        > {{ var('verification_gap_tolerance_pct') }} / 100.0 * greatest(registry_verified_value, 1)
    group by center_code, evaluation_year

),

combined as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        center_years.center_name,
        center_years.host_org_name,
        center_years.host_credit_code,
        center_years.district_code,
        regions.region_name as district_name,
        regions.region_name_en as district_name_en,
        center_years.industry,
        coalesce(industries.label_en, center_years.industry) as industry_en,
        center_years.status,
        coalesce(statuses.label_en, center_years.status) as status_en,
        center_years.approved_on,
        center_years.build_start,
        center_years.build_end,
        center_years.is_in_build_period,
        center_years.has_report,
        center_years.has_dropped_indicators,
        center_years.dropped_indicators,
        annual.scheme_version,
        annual.total_score,
        annual.grade,
        annual.grade_en,
        annual.grade_order,
        annual.previous_total_score,
        annual.previous_grade,
        annual.previous_grade_en,
        annual.annual_outcome,
        annual.annual_outcome_zh,
        annual.annual_outcome_en,
        annual.stays_in_system,
        coalesce(verification_gaps.gap_count, 0) as verification_gap_count,
        -- a decision that takes the center out of the system: the annual 建议撤销 or, at the
        -- end of its build period, the comprehensive 不予纳入 (both fall in graded years)
        not annual.stays_in_system or coalesce(not comprehensive.stays_in_system, false) as is_removal_decision
    from center_years
    inner join annual
        on
            center_years.center_code = annual.center_code
            and center_years.evaluation_year = annual.evaluation_year
    left join verification_gaps
        on
            center_years.center_code = verification_gaps.center_code
            and center_years.evaluation_year = verification_gaps.evaluation_year
    left join comprehensive
        on
            center_years.center_code = comprehensive.center_code
            and center_years.evaluation_year = comprehensive.evaluation_year
    left join regions
        on center_years.district_code = regions.region_code
    left join labels as industries
        on industries.kind = 'industry' and center_years.industry = industries.code
    left join labels as statuses
        on statuses.kind = 'status' and center_years.status = statuses.code

),

-- the latest removal decision of an earlier graded year, in one pass per center
with_removals as (

    select
        combined.*,
        max(case when combined.is_removal_decision then combined.evaluation_year end) over (
            partition by combined.center_code
            order by combined.evaluation_year
            rows between unbounded preceding and 1 preceding
        ) as removed_in_year
    from combined

),

final as (

    select
        center_code,
        evaluation_year,
        center_name,
        host_org_name,
        host_credit_code,
        district_code,
        district_name,
        district_name_en,
        industry,
        industry_en,
        status,
        status_en,
        approved_on,
        build_start,
        build_end,
        is_in_build_period,
        scheme_version,
        total_score::numeric(6, 2) as total_score,
        grade,
        grade_en,
        grade_order,
        rank() over (partition by evaluation_year order by total_score desc)::int as overall_rank,
        rank() over (partition by evaluation_year, industry order by total_score desc)::int as industry_rank,
        previous_total_score::numeric(6, 2) as previous_total_score,
        (total_score - previous_total_score)::numeric(6, 2) as score_change,
        previous_grade,
        previous_grade_en,
        not has_report as is_missing_report,
        verification_gap_count > 0 as has_verification_gap,
        verification_gap_count::int as verification_gap_count,
        annual_outcome,
        annual_outcome_zh,
        annual_outcome_en,
        stays_in_system,
        annual_outcome = 'rectification' as needs_rectification,
        annual_outcome = 'removal_recommended' as is_recommended_for_removal,
        removed_in_year::int as removed_in_year,
        removed_in_year is not null as is_listed_after_removal,
        has_dropped_indicators,
        dropped_indicators
    from with_removals

)

select * from final
