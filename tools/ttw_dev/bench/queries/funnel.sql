-- The conversion funnel of a year, per platform: listings to matches to deals.
select
    platform,
    stage_order,
    funnel_stage_zh,
    item_count,
    amount,
    conversion_from_previous_pct
from marts.rpt_conversion_funnel
where funnel_year = %(year)s
order by platform, stage_order
