with

source as (

    select * from {{ source('reports', 'report_achievements') }}
    where {{ in_build('_batch_id') }}

),

renamed as (

    select
        nullif(btrim(achievement_name), '') as achievement_name,
        nullif(btrim(achievement_type), '') as achievement_type,
        nullif(btrim(completed), '') as completed_period,
        nullif(btrim(note), '') as note,
        cell as source_cell,
        _batch_id as batch_id,
        _source_file as source_file
    from source

)

select * from renamed
