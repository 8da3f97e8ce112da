{#- The summary of a graded year as every deliverable shows it (docs/evaluation.md,
    "Deliverables"): centers graded and new, the average total score, the centers per
    flag and per annual outcome, the centers flagged (rpt_center_flags), and the
    comprehensive evaluations of the build periods ending that year. The centers per
    grade are in rpt_center_grade_counts. One row per year rpt_center_performance grades. -#}
with

performance as (

    select * from {{ ref('rpt_center_performance') }}

),

new_centers as (

    select * from {{ ref('rpt_center_new_centers') }}

),

comprehensive as (

    select * from {{ ref('rpt_center_comprehensive_evaluation') }}

),

flags as (

    select * from {{ ref('rpt_center_flags') }}

),

graded as (

    select
        evaluation_year,
        min(scheme_version) as scheme_version,
        count(*) as centers_graded,
        round(avg(total_score), 2) as average_score,
        count(*) filter (where is_missing_report) as missing_reports,
        count(*) filter (where has_verification_gap) as verification_gaps,
        count(*) filter (where needs_rectification) as rectifications,
        count(*) filter (where is_recommended_for_removal) as removal_recommendations,
        count(*) filter (where is_listed_after_removal) as listed_after_removal
    from performance
    group by evaluation_year

),

new_per_year as (

    select
        evaluation_year,
        count(*) as new_centers
    from new_centers
    group by evaluation_year

),

flagged_per_year as (

    select
        evaluation_year,
        count(*) as flagged_centers
    from flags
    group by evaluation_year

),

comprehensive_per_year as (

    select
        evaluation_year,
        count(*) as build_periods_ending,
        count(*) filter (where stays_in_system) as retained,
        count(*) filter (where not stays_in_system) as not_admitted
    from comprehensive
    group by evaluation_year

),

final as (

    select
        graded.evaluation_year,
        graded.scheme_version,
        graded.centers_graded::int as centers_graded,
        coalesce(new_per_year.new_centers, 0)::int as new_centers,
        graded.average_score::numeric(6, 2) as average_score,
        graded.missing_reports::int as missing_reports,
        graded.verification_gaps::int as verification_gaps,
        graded.rectifications::int as rectifications,
        graded.removal_recommendations::int as removal_recommendations,
        graded.listed_after_removal::int as listed_after_removal,
        coalesce(flagged_per_year.flagged_centers, 0)::int as flagged_centers,
        coalesce(comprehensive_per_year.build_periods_ending, 0)::int as build_periods_ending,
        coalesce(comprehensive_per_year.retained, 0)::int as retained,
        coalesce(comprehensive_per_year.not_admitted, 0)::int as not_admitted
    from graded
    left join new_per_year
        on graded.evaluation_year = new_per_year.evaluation_year
    left join flagged_per_year
        on graded.evaluation_year = flagged_per_year.evaluation_year
    left join comprehensive_per_year
        on graded.evaluation_year = comprehensive_per_year.evaluation_year

)

select * from final
