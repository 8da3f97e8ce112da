with

platforms as (

    select * from {{ ref('platforms') }}

),

final as (

    select
        platform,
        platform_name,
        platform_name_en,
        resources,
        sort_order
    from platforms

)

select * from final
