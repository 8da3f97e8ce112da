with

records as (

    select * from {{ ref('stg_platform__records') }}
    where resource = 'matches'

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
        updated_at,
        is_deleted,
        batch_id,
        source_url,
        source_row_number
    from records

)

select * from typed
