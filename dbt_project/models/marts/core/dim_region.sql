with

regions as (

    select * from {{ ref('region_codes') }}

),

final as (

    select
        region_code,
        region_name,
        region_name_en,
        region_level,
        province_code,
        is_qingdao
    from regions

)

select * from final
