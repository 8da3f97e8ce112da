{#- One row per center and year the center was in the system (the roster at the year's
    end): total score (the sum of the indicator contributions in
    rpt_center_indicator_scores), grade by the scheme's thresholds, rank in the city and
    in its industry, change on the year before, and the flags evaluators act on. A
    center without a report is graded (registry-verified figures still count) and
    flagged, not dropped; a year no report has arrived for at all is awaiting reports
    and not graded (rpt_center_indicator_scores leaves it out). -#}
-- indexes for the BI queries (plugins/ttw/bench/queries); publish copies them to marts
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

),

scores as (

    select * from {{ ref('rpt_center_indicator_scores') }}

),

indicators as (

    select * from {{ ref('fct_center_indicators') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

totals as (

    select
        center_code,
        evaluation_year,
        min(scheme_version) as scheme_version,
        sum(contribution) as total_score
    from scores
    group by center_code, evaluation_year

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

graded as (

    select
        totals.*,
        grades.grade,
        grades.grade_en,
        grades.grade_order
    from totals
    left join lateral (
        {{ grade_lookup('totals.total_score', 'totals.scheme_version') }}
    ) as grades on true

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
        center_years.industry,
        center_years.status,
        center_years.build_start,
        center_years.build_end,
        center_years.has_report,
        center_years.has_dropped_indicators,
        center_years.dropped_indicators,
        graded.scheme_version,
        graded.total_score,
        graded.grade,
        graded.grade_en,
        graded.grade_order,
        coalesce(verification_gaps.gap_count, 0) as verification_gap_count,
        lag(graded.total_score) over by_center as previous_total_score,
        lag(graded.grade) over by_center as previous_grade,
        lag(center_years.evaluation_year) over by_center as previous_year
    from center_years
    inner join graded
        on
            center_years.center_code = graded.center_code
            and center_years.evaluation_year = graded.evaluation_year
    left join verification_gaps
        on
            center_years.center_code = verification_gaps.center_code
            and center_years.evaluation_year = verification_gaps.evaluation_year
    left join regions
        on center_years.district_code = regions.region_code
    window by_center as (partition by center_years.center_code order by center_years.evaluation_year)

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
        industry,
        status,
        build_start,
        build_end,
        scheme_version,
        round(total_score, 2)::numeric(6, 2) as total_score,
        grade,
        grade_en,
        grade_order,
        rank() over (partition by evaluation_year order by round(total_score, 2) desc)::int as overall_rank,
        rank() over (
            partition by evaluation_year, industry order by round(total_score, 2) desc
        )::int as industry_rank,
        round(previous_total_score, 2)::numeric(6, 2) as previous_total_score,
        round(total_score - previous_total_score, 2)::numeric(6, 2) as score_change,
        previous_grade,
        not has_report as is_missing_report,
        verification_gap_count > 0 as has_verification_gap,
        verification_gap_count::int as verification_gap_count,
        grade = '不合格' as needs_rectification,
        -- two consecutive 不合格: this year and the year before (in the system both years)
        coalesce(
            grade = '不合格'
            and previous_grade = '不合格'
            and previous_year = evaluation_year - 1,
            false
        ) as is_recommended_for_removal,
        has_dropped_indicators,
        dropped_indicators
    from combined

)

select * from final
