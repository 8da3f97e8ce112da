{#- The centers per grade of a graded year, one row per grade of the scheme version the
    year was scored by (grade_thresholds), best first by grade_order; a grade no center
    earned counts 0. Deliverables list the grades with centers, in this order, and draw
    each grade in the colour of its grade_order. -#}
with

performance as (

    select * from {{ ref('rpt_center_performance') }}

),

years as (

    select distinct
        evaluation_year,
        scheme_version
    from performance

),

thresholds as (

    select * from {{ ref('grade_thresholds') }}

),

counted as (

    select
        evaluation_year,
        grade,
        count(*) as centers
    from performance
    group by evaluation_year, grade

),

final as (

    select
        years.evaluation_year,
        thresholds.grade,
        thresholds.grade_en,
        thresholds.grade_order,
        years.scheme_version,
        thresholds.min_score::numeric(6, 2) as min_score,
        coalesce(counted.centers, 0)::int as centers
    from years
    inner join thresholds
        on years.scheme_version = thresholds.scheme_version
    left join counted
        on
            years.evaluation_year = counted.evaluation_year
            and thresholds.grade = counted.grade

)

select * from final
