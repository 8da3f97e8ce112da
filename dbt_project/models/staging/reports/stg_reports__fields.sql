with

source as (

    select * from {{ source('reports', 'report_fields') }}
    where {{ in_build('_batch_id') }}

),

renamed as (

    select
        btrim(source.label) as field_label,
        nullif(btrim(source.value), '') as field_value,
        source.cell as source_cell,
        source._batch_id as batch_id,
        source._source_file as source_file
    from source

)

select * from renamed
