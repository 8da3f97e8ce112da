with

records as (

    {{ platform_records('matches') }}

),

typed as (

    select
        platform,
        record_id as match_id,
        nullif(btrim(payload ->> 'achievement_id'), '') as achievement_id,
        nullif(btrim(payload ->> 'demand_id'), '') as demand_id,
        staging.parse_cn_date(payload ->> 'matched_on') as matched_on,
        nullif(btrim(payload ->> 'stage'), '') as match_stage,
        staging.parse_number(payload ->> 'amount')::numeric(18, 2) as amount,
        nullif(btrim(payload ->> 'registration_no'), '') as registration_no,
        {{ platform_version_columns() }}
    from records

)

select * from typed
