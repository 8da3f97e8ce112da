{#- ops.rejects: one row per rule a raw row breaks, with where it came from and the row
    as delivered. Built from the staging checks, so it always matches the raw layer. -#}
with

registry as (

    select * from {{ ref('stg_registry__contract_checks') }}
    where cardinality(failures) > 0

),

registry_rejects as (

    select
        'registry_contracts' as source_family,
        registry._batch_id as batch_id,
        registry._source_file as source_file,
        registry._row_number as source_row_number,
        split_part(failure, '|', 1) as rule_name,
        split_part(failure, '|', 2) as reason,
        registry.payload
    from registry
    cross join lateral unnest(registry.failures) as failure

)

select * from registry_rejects
