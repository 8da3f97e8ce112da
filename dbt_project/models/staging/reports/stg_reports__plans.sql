with

source as (

    select * from {{ source('reports', 'report_plans') }}
    where {{ in_build('_batch_id') }}

),

renamed as (

    select
        btrim(text) as plan_text,
        cell as source_cell,
        _batch_id as batch_id,
        _source_file as source_file
    from source

)

select * from renamed
