with

records as (

    {{ platform_records('financing_needs') }}

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
        {{ platform_version_columns() }}
    from records

)

select * from typed
