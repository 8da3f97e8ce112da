with

fields as (

    select * from {{ ref('tech_fields') }}

),

final as (

    select
        tech_field,
        tech_field_en,
        sort_order
    from fields

)

select * from final
