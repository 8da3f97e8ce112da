{#- The comprehensive evaluation at the end of a center's 3-year build period (docs/evaluation.md):
    for every center whose build period ended in a year it was still in the system, the
    annual scores of the years the period spans combined (their mean), the grade that
    mean earns, and the outcome. Only 合格 or better stay in the system; below 合格 means
    rectification; two consecutive 不合格 years mean recommended removal. -#}
with

performance as (

    select * from {{ ref('rpt_center_performance') }}

),

ended as (

    select
        center_code,
        center_name,
        district_code,
        industry,
        build_start,
        build_end,
        scheme_version
    from performance
    where evaluation_year = extract(year from build_end)

),

period_years as (

    select
        ended.center_code,
        count(*)::int as years_evaluated,
        avg(performance.total_score) as combined_score,
        min(performance.total_score) as lowest_annual_score,
        count(*) filter (where performance.grade = '不合格')::int as unqualified_years,
        bool_or(performance.is_recommended_for_removal) as has_consecutive_unqualified_years,
        string_agg(
            performance.evaluation_year || ':' || performance.grade, ', ' order by performance.evaluation_year
        ) as annual_grades
    from ended
    inner join performance
        on
            ended.center_code = performance.center_code
            and performance.evaluation_year
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
        period_years.has_consecutive_unqualified_years,
        period_years.annual_grades,
        grades.grade,
        grades.grade_order
    from ended
    inner join period_years
        on ended.center_code = period_years.center_code
    left join lateral (
        {{ grade_lookup('period_years.combined_score', 'ended.scheme_version') }}
    ) as grades on true

),

final as (

    select
        center_code,
        center_name,
        district_code,
        industry,
        build_start,
        build_end,
        extract(year from build_end)::int as evaluation_year,
        years_evaluated,
        annual_grades,
        round(combined_score, 2)::numeric(6, 2) as combined_score,
        round(lowest_annual_score, 2)::numeric(6, 2) as lowest_annual_score,
        grade as combined_grade,
        unqualified_years,
        has_consecutive_unqualified_years,
        case
            when has_consecutive_unqualified_years then 'removal_recommended'
            when grade = '不合格' then 'rectification'
            else 'stays'
        end as outcome,
        case
            when has_consecutive_unqualified_years then '建议撤销'
            when grade = '不合格' then '限期整改'
            else '保留'
        end as outcome_zh,
        grade <> '不合格' and not has_consecutive_unqualified_years as stays_in_system
    from graded

)

select * from final
