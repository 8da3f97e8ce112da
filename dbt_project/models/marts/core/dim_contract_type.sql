with

contract_types as (

    select * from {{ ref('contract_types') }}

),

final as (

    select
        contract_type,
        contract_type_en,
        sort_order
    from contract_types

)

select * from final
