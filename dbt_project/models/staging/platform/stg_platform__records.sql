with

source as (

    select * from {{ source('platform', 'platform_records') }}

),

typed as (

    select
        platform,
        resource,
        record_id,
        updated_at::timestamptz as updated_at,
        deleted = 'true' as is_deleted,
        payload,
        _batch_id as batch_id,
        _source_file as source_url,
        _row_number as source_row_number
    from source

)

select * from typed
