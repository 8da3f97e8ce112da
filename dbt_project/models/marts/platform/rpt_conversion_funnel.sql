{#- How research turns into deals, per year and platform: achievements offered, demands
    posted (challenge projects are the challenge platform's demands), matches made
    (a solved challenge is a match) and matches that became registered contracts. Each
    stage counts items and sums their amounts in yuan; every platform that lists anything
    has every stage in every year, with zeros where nothing happened. -#}
-- indexes for the BI queries (tools/ttw_dev/bench/queries); publish copies them to marts
{{
    config(
        indexes=[
            {'columns': ['funnel_year']},
        ],
    )
}}

with

listings as (

    select * from {{ ref('fct_platform_listings') }}

),

matches as (

    select * from {{ ref('fct_matches') }}

),

platforms as (

    select * from {{ ref('dim_platform') }}

),

stage_items as (

    select
        platform,
        extract(year from published_on)::int as funnel_year,
        case listing_type when 'achievement' then 1 else 2 end as stage_order,
        listed_amount as amount
    from listings

    union all

    select
        platform,
        extract(year from published_on)::int as funnel_year,
        3 as stage_order,
        listed_amount as amount
    from listings
    where listing_type = 'challenge' and solver_credit_code is not null

    union all

    select
        platform,
        extract(year from matched_on)::int as funnel_year,
        3 as stage_order,
        match_amount as amount
    from matches

    union all

    select
        platform,
        extract(year from matched_on)::int as funnel_year,
        4 as stage_order,
        registered_contract_amount as amount
    from matches
    where has_registered_contract

),

stages as (

    select *
    from (
        values
        (1, 'achievements', '成果', 'Achievements'),
        (2, 'demands', '需求', 'Demands'),
        (3, 'matches', '对接', 'Matches'),
        (4, 'registered_contracts', '登记合同', 'Registered contracts')
    ) as stage_list (stage_order, funnel_stage, funnel_stage_zh, funnel_stage_en)

),

spine as (

    select
        years.funnel_year,
        platforms.platform,
        stages.stage_order,
        stages.funnel_stage,
        stages.funnel_stage_zh,
        stages.funnel_stage_en
    from (
        select distinct funnel_year from stage_items
        where funnel_year is not null
    ) as years
    cross join platforms
    cross join stages
    -- platforms that list achievements, demands or challenges (not the finance platform)
    where platforms.platform in (select stage_items.platform from stage_items)

),

totals as (

    select
        spine.funnel_year,
        spine.platform,
        spine.stage_order,
        spine.funnel_stage,
        spine.funnel_stage_zh,
        spine.funnel_stage_en,
        count(stage_items.stage_order)::int as item_count,
        coalesce(sum(stage_items.amount), 0)::numeric(18, 2) as amount
    from spine
    left join stage_items
        on
            spine.funnel_year = stage_items.funnel_year
            and spine.platform = stage_items.platform
            and spine.stage_order = stage_items.stage_order
    group by 1, 2, 3, 4, 5, 6

),

-- a year is complete once a platform extract ran in a later year and, for the contract stage, the registry year is complete
complete_years as (

    select extract(year from max(loaded_at))::int as first_incomplete_year
    from {{ ref('int_meta__deliveries') }}
    where source_family = 'platform_records'

),

registry_years as (

    select distinct
        calendar_year,
        is_complete_year
    from {{ ref('int_meta__registry_months') }}

),

final as (

    select
        totals.*,
        platforms.platform_name as platform_zh,
        platforms.platform_name_en as platform_en,
        totals.funnel_year < complete_years.first_incomplete_year
        and coalesce(registry_years.is_complete_year, false) as is_complete_year,
        -- matches per demand posted, registered contracts per match; achievements and
        -- demands are two sides of the market, not one stage after the other
        case
            when totals.stage_order >= 3
                then round(
                    totals.item_count * 100.0 / nullif(
                        lag(totals.item_count) over (
                            partition by totals.funnel_year, totals.platform order by totals.stage_order
                        ),
                        0
                    ),
                    2
                )::numeric(12, 2)
        end as conversion_from_previous_pct
    from totals
    cross join complete_years
    inner join platforms
        on totals.platform = platforms.platform
    left join registry_years
        on totals.funnel_year = registry_years.calendar_year

)

select * from final
