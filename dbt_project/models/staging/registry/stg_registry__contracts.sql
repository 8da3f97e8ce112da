with

checks as (

    select * from {{ ref('base_registry__contract_checks') }}

),

valid as (

    select * from checks
    where is_valid

),

renamed as (

    select
        btrim(registration_no) as registration_no,
        btrim(project_name) as project_name,
        btrim(contract_type) as contract_type,
        nullif(btrim(contract_subtype), '') as contract_subtype,
        signed_date as signed_on,
        registered_date as registered_on,
        btrim(seller_name) as seller_name,
        upper(btrim(seller_credit_code)) as seller_credit_code,
        btrim(seller_nature_code) as seller_nature_code,
        btrim(seller_region_code) as seller_region_code,
        btrim(buyer_name) as buyer_name,
        upper(nullif(btrim(buyer_credit_code), '')) as buyer_credit_code,
        nullif(btrim(buyer_nature_code), '') as buyer_nature_code,
        nullif(btrim(buyer_region_code), '') as buyer_region_code,
        coalesce(nullif(btrim(buyer_country_code), ''), '156') as buyer_country_code,
        contract_value::numeric(18, 2) as contract_amount,
        tech_value::numeric(18, 2) as tech_transaction_amount,
        btrim(tech_field) as tech_field,
        nullif(btrim(ip_type), '') as ip_type,
        btrim(status) as status,
        -- the month a file exports (contracts_YYYYMM.*): a later export supersedes an earlier one
        export_period,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number,
        _loaded_at as loaded_at
    from valid

)

select * from renamed
