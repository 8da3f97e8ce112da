with

checks as (

    select * from {{ ref('base_platform__record_checks') }}

),

valid as (

    select
        platform,
        resource,
        record_id,
        updated_time as updated_at,
        deleted = 'true' as is_deleted,
        payload,
        _batch_id as batch_id,
        _source_file as source_url,
        _row_number as source_row_number
    from checks
    where is_valid

)

select * from valid
