with

records as (

    select * from {{ ref('stg_platform__records') }}
    where resource = 'financing_needs'

),

typed as (

    select
        platform,
        record_id as financing_need_id,
        {{ platform_party('enterprise') }},
        staging.parse_number(payload ->> 'amount_requested')::numeric(18, 2) as amount_requested,
        nullif(btrim(payload ->> 'purpose'), '') as purpose,
        staging.parse_cn_date(payload ->> 'published_on') as published_on,
        nullif(btrim(payload ->> 'status'), '') as status,
        updated_at,
        is_deleted,
        batch_id,
        source_url,
        source_row_number
    from records

)

select * from typed
