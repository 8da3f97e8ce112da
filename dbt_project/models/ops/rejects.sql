{#- ops.rejects: one row per rule a raw row breaks, with where it came from and the row
    as delivered, plus what the loaders could not take (never in raw: rejected_at_stage 'load'). Rebuilt from the staging checks
    and ops.load_rejects on every build, so it always matches the raw layer the build reads.
    The check models are the source registry's (plugins/ttw/sources.py, macros/sources.sql). -#}
{%- set checks = source_checks() -%}

with

{% for check in checks %}
    {{ check.family }}_rejects as (

        select
            '{{ check.family }}' as source_family,
            checks._batch_id as batch_id,
            checks._source_file as source_file,
            checks._row_number as source_row_number,
            {{ check.location }} as source_location,
            split_part(failure, '|', 1) as rule_name,
            split_part(failure, '|', 2) as reason,
            checks.payload,
            'staging' as rejected_at_stage
        from {{ ref(check.model) }} as checks
        cross join lateral unnest(checks.failures) as failure
        where not checks.is_valid

    ),

{% endfor %}
loader as (

    -- a whole-file reject has no batch; a record reject counts only while its batch is one
    -- the build reads (a retracted batch's rejects go with it)
    select * from {{ source('ops', 'load_rejects') }}
    where batch_id is null or {{ in_build('batch_id') }}

),

loader_rejects as (

    select
        loader.source_family,
        loader.batch_id,
        loader.source_file,
        loader.row_number as source_row_number,
        loader.location as source_location,
        loader.rule_name,
        loader.reason,
        loader.payload,
        'load' as rejected_at_stage
    from loader

),

unioned as (

    {% for check in checks %}
        select * from {{ check.family }}_rejects
        union all
    {% endfor %}
    select * from loader_rejects

)

select * from unioned
