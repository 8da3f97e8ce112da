with

checks as (

    select * from {{ ref('base_centers__roster_checks') }}

),

valid as (

    select
        btrim(center_code) as center_code,
        btrim(center_name) as center_name,
        btrim(host_org_name) as host_org_name,
        upper(btrim(host_credit_code)) as host_credit_code,
        btrim(district_code) as district_code,
        btrim(industry) as industry,
        nullif(btrim(batch), '') as approval_batch,
        staging.parse_cn_date(approved_on) as approved_on,
        staging.parse_cn_date(build_start) as build_start,
        staging.parse_cn_date(build_end) as build_end,
        btrim(status) as status,
        -- centers_YYYY.csv is the bureau's list as of 31 December of that year
        roster_year,
        make_date(roster_year, 12, 31) as roster_date,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number
    from checks
    where is_valid

)

select * from valid
