with

source as (

    select * from {{ source('centers', 'center_roster') }}

),

renamed as (

    select
        btrim(center_code) as center_code,
        btrim(center_name) as center_name,
        btrim(host_org_name) as host_org_name,
        upper(btrim(host_credit_code)) as host_credit_code,
        btrim(district_code) as district_code,
        btrim(industry) as industry,
        btrim(batch) as approval_batch,
        staging.parse_cn_date(approved_on) as approved_on,
        staging.parse_cn_date(build_start) as build_start,
        staging.parse_cn_date(build_end) as build_end,
        btrim(status) as status,
        substring(_source_file from 'centers_(\d{4})\.csv$')::int as roster_year,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number
    from source

)

select * from renamed
