-- The 50 best centers of a year, with score, grade and the change from last year.
select
    overall_rank,
    center_code,
    center_name,
    district_name,
    total_score,
    grade,
    score_change
from marts.rpt_center_performance
where evaluation_year = %(evaluation_year)s
order by overall_rank
limit 50
