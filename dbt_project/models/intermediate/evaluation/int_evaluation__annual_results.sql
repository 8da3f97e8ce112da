{#- One row per graded center-year: the total score (the sum of the indicator
    contributions in rpt_center_indicator_scores), its grade, and the annual dynamic
    adjustment the policy decides (docs/evaluation.md, "Decisions"): a failing year means
    限期整改 (the center stays), the policy's number of consecutive failing years while in
    the system means 建议撤销. Only graded years count: a new center's first year and a
    year awaiting reports have no row, so they never make or break a run. The annual
    results feed both rpt_center_performance and rpt_center_comprehensive_evaluation. -#}
-- a table: two marts read it, and the runs need every year of a center at once
{{ config(materialized='table') }}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}
    where is_graded

),

scores as (

    select * from {{ ref('rpt_center_indicator_scores') }}

),

policy as (

    select * from {{ ref('evaluation_policy') }}

),

outcomes as (

    select * from {{ ref('evaluation_outcomes') }}
    where stage = 'annual'

),

totals as (

    select
        center_code,
        evaluation_year,
        min(scheme_version) as scheme_version,
        round(sum(contribution), 2)::numeric(6, 2) as total_score
    from scores
    group by center_code, evaluation_year

),

graded as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        totals.scheme_version,
        totals.total_score,
        grades.grade,
        grades.grade_en,
        grades.grade_order,
        policy.consecutive_unqualified_years,
        grades.grade = policy.unqualified_grade as is_unqualified
    from center_years
    inner join totals
        on
            center_years.center_code = totals.center_code
            and center_years.evaluation_year = totals.evaluation_year
    inner join policy
        on center_years.policy_version = policy.policy_version
    left join lateral (
        {{ grade_lookup('totals.total_score', 'totals.scheme_version') }}
    ) as grades on true

),

previous as (

    select
        graded.*,
        lag(graded.evaluation_year) over by_center as previous_year,
        lag(graded.total_score) over by_center as previous_total_score,
        lag(graded.grade) over by_center as previous_grade,
        lag(graded.grade_en) over by_center as previous_grade_en,
        lag(graded.is_unqualified) over by_center as previous_is_unqualified
    from graded
    window by_center as (partition by graded.center_code order by graded.evaluation_year)

),

-- a run of failing years: each failing year that follows a failing graded year of the
-- calendar year before continues the run; anything else starts a new one
runs as (

    select
        previous.*,
        sum(
            case
                when
                    previous.is_unqualified
                    and previous.previous_is_unqualified
                    and previous.previous_year = previous.evaluation_year - 1
                    then 0
                else 1
            end
        ) over (partition by previous.center_code order by previous.evaluation_year) as run_id
    from previous

),

counted as (

    select
        runs.*,
        case
            when runs.is_unqualified
                then row_number() over (partition by runs.center_code, runs.run_id order by runs.evaluation_year)
            else 0
        end as unqualified_run
    from runs

),

final as (

    select
        counted.center_code,
        counted.evaluation_year,
        counted.scheme_version,
        counted.total_score,
        counted.grade,
        counted.grade_en,
        counted.grade_order,
        counted.previous_year,
        counted.previous_total_score,
        counted.previous_grade,
        counted.previous_grade_en,
        counted.is_unqualified,
        counted.unqualified_run::int as unqualified_run,
        outcomes.outcome as annual_outcome,
        outcomes.outcome_zh as annual_outcome_zh,
        outcomes.outcome_en as annual_outcome_en,
        outcomes.stays_in_system
    from counted
    inner join outcomes
        on
            outcomes.outcome = case
                when counted.unqualified_run >= counted.consecutive_unqualified_years then 'removal_recommended'
                when counted.is_unqualified then 'rectification'
                else 'none'
            end

)

select * from final
