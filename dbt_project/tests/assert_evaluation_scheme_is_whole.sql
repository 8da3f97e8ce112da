-- Every scheme version in evaluation_scheme starts in one year and its weights add up to
-- 100 points, whatever indicators an edit of the seed adds or removes.
select
    scheme_version,
    count(distinct first_year) as first_years,
    sum(weight) as total_weight
from {{ ref('evaluation_scheme') }}
group by scheme_version
having count(distinct first_year) <> 1 or sum(weight) <> 100
