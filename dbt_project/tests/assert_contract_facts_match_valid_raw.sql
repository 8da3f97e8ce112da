-- The contract fact equals the registry as delivered, worked out again straight from raw:
-- every raw row that ops.rejects does not hold, newest export month first (then the later
-- load, then the later row), one per registration number. Count and amounts must agree.
-- On a --changed build (new_batches_only, macros/tests/new_batch_scope.sql): for the
-- contracts a new batch carries, every version of them, old or new; the rest of the fact
-- was checked by the last whole build and the incremental fact rewrites only these.
{%- set scoped = new_batches_only() %}
{%- set carried -%}
    select btrim(new_rows.registration_no) from {{ source('registry', 'registry_contracts') }} as new_rows
    where new_rows._batch_id in {{ new_batches_relation() }}
{%- endset %}
with

raw_contracts as (

    select * from {{ source('registry', 'registry_contracts') }}
    where {{ in_build('_batch_id') }}{% if scoped %} and btrim(registration_no) in ({{ carried }}){% endif %}

),

-- the month a file exports, from its name: once a file, not once a row
files as (

    select
        distinct_files._source_file,
        substring(distinct_files._source_file from 'contracts_(\d{6})[^/]*$') as export_period
    from (select distinct raw_contracts._source_file from raw_contracts) as distinct_files

),

raw_rows as (

    select
        btrim(raw_contracts.registration_no) as registration_no,
        staging.parse_amount(raw_contracts.contract_amount) as contract_amount,
        staging.parse_amount(raw_contracts.tech_transaction_amount) as tech_transaction_amount,
        files.export_period,
        raw_contracts._batch_id,
        raw_contracts._row_number
    from raw_contracts
    left join files
        on raw_contracts._source_file = files._source_file
    where not exists (
        select 1
        from {{ ref('rejects') }} as rejects
        where
            rejects.source_family = 'registry_contracts'
            and rejects.batch_id = raw_contracts._batch_id
            and rejects.source_row_number = raw_contracts._row_number
    )

),

newest as (

    select distinct on (registration_no) *
    from raw_rows
    order by registration_no asc, export_period desc nulls last, _batch_id desc, _row_number desc

),

expected as (

    select
        count(*) as contract_count,
        coalesce(sum(contract_amount), 0) as contract_amount,
        coalesce(sum(tech_transaction_amount), 0) as tech_transaction_amount
    from newest

),

facts as (

    select
        count(*) as contract_count,
        coalesce(sum(contract_amount), 0) as contract_amount,
        coalesce(sum(tech_transaction_amount), 0) as tech_transaction_amount
    from {{ ref('fct_tech_contracts') }}
    {%- if scoped %}
        where registration_no in ({{ carried }})
    {%- endif %}

)

select
    expected.contract_count as raw_count,
    facts.contract_count as fact_count,
    expected.contract_amount as raw_amount,
    facts.contract_amount as fact_amount
from expected
cross join facts
where
    expected.contract_count <> facts.contract_count
    or expected.contract_amount <> facts.contract_amount
    or expected.tech_transaction_amount <> facts.tech_transaction_amount
