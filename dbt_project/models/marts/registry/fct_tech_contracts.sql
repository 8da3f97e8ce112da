with

contracts as (

    select * from {{ ref('stg_registry__contracts') }}

),

-- a later export may repeat a registration_no with corrected values: the newest export
-- wins whatever order the files were loaded in; within a file, the later row
latest as (

    select distinct on (registration_no) *
    from contracts
    order by
        registration_no asc,
        export_period desc nulls last,
        batch_id desc,
        source_row_number desc

),

final as (

    select
        registration_no,
        contract_type,
        contract_subtype,
        signed_on,
        registered_on,
        seller_credit_code,
        seller_nature_code,
        {{ region_key('seller_region_code', "'156'") }} as seller_region_code,
        buyer_credit_code,
        buyer_nature_code,
        {{ region_key('buyer_region_code', 'buyer_country_code') }} as buyer_region_code,
        buyer_country_code,
        contract_amount,
        tech_transaction_amount,
        tech_field,
        ip_type,
        status,
        status = '已登记' as is_registered,
        batch_id
    from latest

)

select * from final
