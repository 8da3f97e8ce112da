with

records as (

    {{ platform_records('achievements') }}

),

typed as (

    select
        platform,
        record_id as achievement_id,
        nullif(btrim(payload ->> 'title'), '') as title,
        {{ platform_party('owner') }},
        nullif(btrim(payload ->> 'tech_field'), '') as tech_field,
        nullif(btrim(payload ->> 'maturity'), '') as maturity,
        nullif(btrim(payload ->> 'transfer_mode'), '') as transfer_mode,
        staging.parse_number(payload ->> 'asking_price')::numeric(18, 2) as asking_price,
        staging.parse_cn_date(payload ->> 'published_on') as published_on,
        nullif(btrim(payload ->> 'status'), '') as status,
        {{ platform_version_columns() }}
    from records

)

select * from typed
