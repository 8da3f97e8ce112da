-- dim_region's drill hierarchy: each row's parent is one level up (district -> city ->
-- province -> country), the tops (country, abroad, unknown) have none, and city_code,
-- province_code and country_code agree with the chain of parents. Returns the rows that
-- break it.
with

regions as (

    select * from {{ ref('dim_region') }}

),

checked as (

    select
        regions.region_code,
        regions.region_level,
        regions.parent_region_code,
        parents.region_level as parent_level,
        case regions.region_level
            when 'district' then 'city'
            when 'city' then 'province'
            when 'province' then 'country'
        end as expected_parent_level,
        regions.city_code,
        regions.province_code,
        regions.country_code,
        case regions.region_level
            when 'district' then regions.parent_region_code
            when 'city' then regions.region_code
        end as expected_city_code,
        case regions.region_level
            when 'district' then grandparents.region_code
            when 'city' then parents.region_code
            when 'province' then regions.region_code
            when 'abroad' then regions.region_code
            when 'unknown' then regions.region_code
        end as expected_province_code,
        case
            when regions.region_level in ('country', 'abroad', 'unknown') then regions.region_code
            else coalesce(greatgrandparents.region_code, grandparents.region_code, parents.region_code)
        end as expected_country_code
    from regions
    left join regions as parents
        on regions.parent_region_code = parents.region_code
    left join regions as grandparents
        on parents.parent_region_code = grandparents.region_code
    left join regions as greatgrandparents
        on grandparents.parent_region_code = greatgrandparents.region_code

)

select *
from checked
where
    parent_level is distinct from expected_parent_level
    or city_code is distinct from expected_city_code
    or province_code is distinct from expected_province_code
    or country_code is distinct from expected_country_code
