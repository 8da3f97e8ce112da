{#- What a re-delivered report changed: for each center-year whose report has more than
    one version, each indicator whose value differs between the current version and the
    one before it (a value reported in only one of the two counts as a difference). -#}
with

versions as (

    select * from {{ ref('fct_center_report_versions') }}

),

report_values as (

    select * from {{ ref('fct_center_report_values') }}

),

catalog as (

    select * from {{ ref('report_indicators') }}

),

current_versions as (

    select * from versions
    where is_current_version and version_number > 1

),

pairs as (

    select
        current_versions.center_code,
        current_versions.report_year,
        current_versions.version_number as current_version_number,
        current_versions.batch_id as current_batch_id,
        current_versions.source_file as current_file,
        current_versions.loaded_at as current_loaded_at,
        previous.version_number as previous_version_number,
        previous.batch_id as previous_batch_id,
        previous.source_file as previous_file,
        previous.loaded_at as previous_loaded_at
    from current_versions
    inner join versions as previous
        on
            current_versions.center_code = previous.center_code
            and current_versions.report_year = previous.report_year
            and current_versions.version_number - 1 = previous.version_number

),

compared as (

    select
        pairs.*,
        catalog.indicator_code,
        catalog.indicator_name,
        catalog.indicator_name_en,
        catalog.unit,
        catalog.sort_order,
        previous_values.reported_value as previous_value,
        current_values.reported_value as current_value,
        previous_values.source_cell as previous_cell,
        current_values.source_cell as current_cell
    from pairs
    cross join catalog
    left join report_values as previous_values
        on
            pairs.previous_batch_id = previous_values.batch_id
            and catalog.indicator_code = previous_values.indicator_code
    left join report_values as current_values
        on
            pairs.current_batch_id = current_values.batch_id
            and catalog.indicator_code = current_values.indicator_code

),

final as (

    select
        center_code,
        report_year,
        indicator_code,
        indicator_name,
        indicator_name_en,
        unit,
        previous_value,
        current_value,
        current_value - previous_value as change,  -- noqa: RF04
        case
            when previous_value is null then 'added'
            when current_value is null then 'dropped'
            else 'changed'
        end as change_type,
        previous_file,
        current_file,
        previous_cell,
        current_cell,
        previous_loaded_at,
        current_loaded_at,
        previous_version_number,
        current_version_number,
        sort_order as indicator_order
    from compared
    where previous_value is distinct from current_value

)

select * from final
