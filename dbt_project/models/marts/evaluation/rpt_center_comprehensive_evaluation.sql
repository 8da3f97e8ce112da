{#- The comprehensive evaluation at the end of a center's 3-year build period
    (docs/evaluation.md, "Decisions"): for every center whose build period ends in a year
    it is graded, the mean of its annual total scores over the graded years inside the
    build period (a year before the period, a new center's first year and a year awaiting
    reports do not count), the grade that mean earns, and the one outcome it decides: the
    policy's grade (合格) or better → 保留 (taken into the system), below → 不予纳入.
    Nothing else overrides it: the annual adjustment (限期整改, 建议撤销) is a separate
    decision, in rpt_center_performance. -#}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}
    where is_graded

),

annual as (

    select * from {{ ref('int_evaluation__annual_results') }}

),

policy as (

    select * from {{ ref('evaluation_policy') }}

),

thresholds as (

    select * from {{ ref('grade_thresholds') }}

),

outcomes as (

    select * from {{ ref('evaluation_outcomes') }}
    where stage = 'comprehensive'

),

regions as (

    select * from {{ ref('dim_region') }}

),

labels as (

    select * from {{ ref('evaluation_labels') }}

),

ended as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        center_years.center_name,
        center_years.district_code,
        center_years.industry,
        center_years.build_start,
        center_years.build_end,
        center_years.policy_version,
        annual.scheme_version
    from center_years
    inner join annual
        on
            center_years.center_code = annual.center_code
            and center_years.evaluation_year = annual.evaluation_year
    where center_years.evaluation_year = extract(year from center_years.build_end)

),

period_years as (

    select
        ended.center_code,
        count(*)::int as years_evaluated,
        avg(annual.total_score) as combined_score,
        min(annual.total_score) as lowest_annual_score,
        count(*) filter (where annual.is_unqualified)::int as unqualified_years,
        string_agg(annual.evaluation_year || ':' || annual.grade, ', ' order by annual.evaluation_year)
            as annual_grades,
        string_agg(annual.evaluation_year || ': ' || annual.grade_en, ', ' order by annual.evaluation_year)
            as annual_grades_en
    from ended
    inner join annual
        on
            ended.center_code = annual.center_code
            and annual.evaluation_year
            between extract(year from ended.build_start) and extract(year from ended.build_end)
    group by ended.center_code

),

graded as (

    select
        ended.*,
        period_years.years_evaluated,
        period_years.combined_score,
        period_years.lowest_annual_score,
        period_years.unqualified_years,
        period_years.annual_grades,
        period_years.annual_grades_en,
        grades.grade,
        grades.grade_en,
        grades.grade_order,
        -- the policy's minimum grade, in the order of this version's grades (1 is the best)
        minimum.grade_order as minimum_grade_order
    from ended
    inner join period_years
        on ended.center_code = period_years.center_code
    inner join policy
        on ended.policy_version = policy.policy_version
    left join thresholds as minimum
        on
            ended.scheme_version = minimum.scheme_version
            and policy.comprehensive_min_grade = minimum.grade
    left join lateral (
        {{ grade_lookup('period_years.combined_score', 'ended.scheme_version') }}
    ) as grades on true

),

final as (

    select
        graded.center_code,
        graded.center_name,
        graded.district_code,
        regions.region_name as district_name,
        regions.region_name_en as district_name_en,
        graded.industry,
        coalesce(industries.label_en, graded.industry) as industry_en,
        graded.build_start,
        graded.build_end,
        graded.evaluation_year::int as evaluation_year,
        graded.years_evaluated,
        graded.annual_grades,
        graded.annual_grades_en,
        round(graded.combined_score, 2)::numeric(6, 2) as combined_score,
        round(graded.lowest_annual_score, 2)::numeric(6, 2) as lowest_annual_score,
        graded.grade as combined_grade,
        graded.grade_en as combined_grade_en,
        graded.unqualified_years,
        outcomes.outcome,
        outcomes.outcome_zh,
        outcomes.outcome_en,
        outcomes.stays_in_system
    from graded
    inner join outcomes
        on
            outcomes.outcome = case
                when graded.grade_order <= graded.minimum_grade_order then 'retained'
                else 'not_admitted'
            end
    left join regions
        on graded.district_code = regions.region_code
    left join labels as industries
        on industries.kind = 'industry' and graded.industry = industries.code

)

select * from final
