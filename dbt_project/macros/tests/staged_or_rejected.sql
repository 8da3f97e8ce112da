{#- Nothing lost: for every load batch, the raw rows of a source equal the model's (valid)
    rows plus the distinct raw rows ops.rejects holds for the family (records the loader
    rejected never reached raw: the loader's ledger accounts for them); and no row is both
    staged and rejected (so a lost row cannot hide behind a doubled one). Without a
    family (a staging model that keeps every raw row) the counts must simply be equal. -#}
{% test staged_or_rejected(model, source_name, table_name, family=none) %}
with

raw_rows as (

    select
        _batch_id as batch_id,
        count(*) as raw_count
    from {{ source(source_name, table_name) }}
    where {{ in_build('_batch_id') }}
    group by _batch_id

),

staged as (

    select
        batch_id,
        count(*) as staged_count
    from {{ model }}
    group by batch_id

),

{% if family %}
rejected as (

    select
        batch_id,
        count(distinct source_row_number) as rejected_count
    from {{ ref('rejects') }}
    where
        source_family = '{{ family }}'
        and source_row_number is not null
        and rejected_at_stage = 'staging'
    group by batch_id

),

doubled as (

    select
        staged_rows.batch_id,
        count(*) as both_count
    from {{ model }} as staged_rows
    inner join {{ ref('rejects') }} as rejected_rows
        on
            staged_rows.batch_id = rejected_rows.batch_id
            and staged_rows.source_row_number = rejected_rows.source_row_number
            and rejected_rows.source_family = '{{ family }}'
            and rejected_rows.rejected_at_stage = 'staging'
    group by staged_rows.batch_id

),
{% else %}
rejected as (select null::bigint as batch_id, 0 as rejected_count where false),

doubled as (select null::bigint as batch_id, 0 as both_count where false),
{% endif %}

accounted as (

    select
        coalesce(raw_rows.batch_id, staged.batch_id) as batch_id,
        coalesce(raw_rows.raw_count, 0) as raw_count,
        coalesce(staged.staged_count, 0) as staged_count,
        coalesce(rejected.rejected_count, 0) as rejected_count,
        coalesce(doubled.both_count, 0) as both_count
    from raw_rows
    full outer join staged on raw_rows.batch_id = staged.batch_id
    left join rejected on coalesce(raw_rows.batch_id, staged.batch_id) = rejected.batch_id
    left join doubled on coalesce(raw_rows.batch_id, staged.batch_id) = doubled.batch_id

)

select * from accounted
where raw_count <> staged_count + rejected_count or both_count > 0
{% endtest %}
