with

records as (

    {{ platform_records('demands') }}

),

typed as (

    select
        platform,
        record_id as demand_id,
        nullif(btrim(payload ->> 'title'), '') as title,
        {{ platform_party('enterprise') }},
        nullif(btrim(payload ->> 'tech_field'), '') as tech_field,
        staging.parse_number(payload ->> 'budget')::numeric(18, 2) as budget,
        staging.parse_cn_date(payload ->> 'published_on') as published_on,
        staging.parse_cn_date(payload ->> 'deadline') as deadline_on,
        nullif(btrim(payload ->> 'status'), '') as status,
        {{ platform_version_columns() }}
    from records

)

select * from typed
