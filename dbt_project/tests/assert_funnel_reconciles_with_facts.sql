-- The conversion funnel's stages add up to the platform facts: listings by type and year
-- of publication, matches (and solved challenges) and registered contracts by year.
with

listings as (

    select * from {{ ref('fct_platform_listings') }}

),

matches as (

    select * from {{ ref('fct_matches') }}

),

expected as (

    select
        case listing_type when 'achievement' then 'achievements' else 'demands' end as funnel_stage,
        count(*) as item_count,
        coalesce(sum(listed_amount), 0) as amount
    from listings
    where published_on is not null
    group by 1

    union all

    select
        'matches' as funnel_stage,
        (
            select count(*) from matches
            where matched_on is not null
        )
        + (
            select count(*) from listings
            where listing_type = 'challenge' and solver_credit_code is not null)
            as item_count,
        null as amount

    union all

    select
        'registered_contracts' as funnel_stage,
        count(*) as item_count,
        coalesce(sum(registered_contract_amount), 0) as amount
    from matches
    where has_registered_contract and matched_on is not null

),

funnel as (

    select
        funnel_stage,
        sum(item_count) as item_count,
        sum(amount) as amount
    from {{ ref('rpt_conversion_funnel') }}
    group by 1

)

select
    expected.funnel_stage,
    expected.item_count as fact_count,
    funnel.item_count as funnel_count,
    expected.amount as fact_amount,
    funnel.amount as funnel_amount
from expected
left join funnel
    on expected.funnel_stage = funnel.funnel_stage
where
    expected.item_count is distinct from coalesce(funnel.item_count, 0)
    or (expected.amount is not null and expected.amount is distinct from coalesce(funnel.amount, 0))
