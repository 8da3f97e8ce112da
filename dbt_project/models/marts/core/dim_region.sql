with

regions as (

    select * from {{ ref('region_codes') }}

),

country as (

    select region_code as country_code
    from regions
    where region_level = 'country'

),

-- Each row's place in the drill hierarchy district -> city -> province -> country, from
-- the structure of a GB/T 2260 code: a district (370202) lies in the city of its first
-- four digits (370200), a city in the province of its first two (370000), a province in
-- the country row (100000). The country, abroad (900000) and unknown (000000) are the
-- tops of their chains, so abroad and unknown are their own country at that level.
hierarchy as (

    select
        regions.*,
        case regions.region_level
            when 'district' then left(regions.region_code, 4) || '00'
            when 'city' then left(regions.region_code, 2) || '0000'
            when 'province' then country.country_code
        end as parent_region_code,
        case regions.region_level
            when 'district' then left(regions.region_code, 4) || '00'
            when 'city' then regions.region_code
        end as city_code,
        case
            when regions.region_level in ('abroad', 'unknown') then regions.region_code
            else country.country_code
        end as country_code
    from regions
    cross join country

),

final as (

    select
        hierarchy.region_code,
        hierarchy.region_name,
        hierarchy.region_name_en,
        hierarchy.region_level,
        hierarchy.province_code,
        hierarchy.is_qingdao,
        hierarchy.parent_region_code,
        hierarchy.city_code,
        cities.region_name as city_name,
        provinces.region_name as province_name,
        hierarchy.country_code,
        countries.region_name as country_name
    from hierarchy
    left join regions as cities
        on hierarchy.city_code = cities.region_code
    left join regions as provinces
        on hierarchy.province_code = provinces.region_code
    left join regions as countries
        on hierarchy.country_code = countries.region_code

)

select * from final
