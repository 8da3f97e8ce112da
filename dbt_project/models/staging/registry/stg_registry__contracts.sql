with

source as (

    select * from {{ source('registry', 'registry_contracts') }}

),

renamed as (

    select
        btrim(registration_no) as registration_no,
        btrim(project_name) as project_name,
        btrim(contract_type) as contract_type,
        nullif(btrim(contract_subtype), '') as contract_subtype,
        staging.parse_cn_date(signed_on) as signed_on,
        staging.parse_cn_date(registered_on) as registered_on,
        btrim(seller_name) as seller_name,
        upper(btrim(seller_credit_code)) as seller_credit_code,
        btrim(seller_nature_code) as seller_nature_code,
        btrim(seller_region_code) as seller_region_code,
        btrim(buyer_name) as buyer_name,
        upper(nullif(btrim(buyer_credit_code), '')) as buyer_credit_code,
        nullif(btrim(buyer_nature_code), '') as buyer_nature_code,
        nullif(btrim(buyer_region_code), '') as buyer_region_code,
        coalesce(nullif(btrim(buyer_country_code), ''), '156') as buyer_country_code,
        staging.parse_amount(contract_amount) as contract_amount,
        staging.parse_amount(tech_transaction_amount) as tech_transaction_amount,
        btrim(tech_field) as tech_field,
        nullif(btrim(ip_type), '') as ip_type,
        btrim(status) as status,
        -- the month a file exports (contracts_YYYYMM.*): a later export supersedes an earlier one
        substring(_source_file from 'contracts_(\d{6})[^/]*$') as export_period,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from source

)

select * from renamed
