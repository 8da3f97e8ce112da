{#- ops.rejects: one row per rule a raw row breaks, with where it came from and the row
    as delivered, plus what the loaders could not take. Rebuilt from the staging checks
    and ops.load_rejects on every build, so it always matches the raw layer. -#}
with

registry as (

    select * from {{ ref('stg_registry__contract_checks') }}
    where cardinality(failures) > 0

),

indicators as (

    select * from {{ ref('stg_reports__indicator_checks') }}
    where cardinality(failures) > 0

),

loader as (

    select * from {{ source('ops', 'load_rejects') }}

),

registry_rejects as (

    select
        'registry_contracts' as source_family,
        registry._batch_id as batch_id,
        registry._source_file as source_file,
        registry._row_number as source_row_number,
        null::text as source_location,
        split_part(failure, '|', 1) as rule_name,
        split_part(failure, '|', 2) as reason,
        registry.payload
    from registry
    cross join lateral unnest(registry.failures) as failure

),

indicator_rejects as (

    select
        'center_reports' as source_family,
        indicators._batch_id as batch_id,
        indicators._source_file as source_file,
        indicators._row_number as source_row_number,
        indicators.cell as source_location,
        split_part(failure, '|', 1) as rule_name,
        split_part(failure, '|', 2) as reason,
        indicators.payload
    from indicators
    cross join lateral unnest(indicators.failures) as failure

),

loader_rejects as (

    select
        loader.source_family,
        loader.batch_id,
        loader.source_file,
        null::bigint as source_row_number,
        loader.location as source_location,
        loader.rule_name,
        loader.reason,
        null::jsonb as payload
    from loader

),

unioned as (

    select * from registry_rejects
    union all
    select * from indicator_rejects
    union all
    select * from loader_rejects

)

select * from unioned
