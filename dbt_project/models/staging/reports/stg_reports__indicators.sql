with

checks as (

    select * from {{ ref('base_reports__indicator_checks') }}

),

valid as (

    select
        center_code,
        report_year,
        btrim(indicator) as indicator,
        nullif(btrim(unit), '') as unit,
        numeric_value as reported_value,
        cell as source_cell,
        _row_number as source_row_number,
        _batch_id as batch_id,
        _source_file as source_file,
        _loaded_at as loaded_at
    from checks
    where is_valid

)

select * from valid
