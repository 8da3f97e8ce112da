-- One center's performance row for a year (the evaluator's center page).
select *
from marts.rpt_center_performance
where center_code = %(center)s and evaluation_year = %(evaluation_year)s
