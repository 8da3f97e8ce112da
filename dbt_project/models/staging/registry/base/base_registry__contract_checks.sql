{#- Every raw registry row with the rules it breaks ("rule|reason" strings). Rows that
    break none flow on to stg_registry__contracts; the others become ops.rejects.
    Incremental: every rule reads the row itself, the seeds and its own batch (duplicates
    are counted within a file), so only new load batches are checked. A change to a seed
    (a new technology field) needs `ttw build --full-refresh`. -#}
{{
    config(
        materialized='incremental',
        indexes=[{'columns': ['_batch_id']}],
        post_hook=["{{ index_invalid_rows() }}", "{{ record_batches() }}"],
    )
}}
{%- set raw_columns = source_columns('registry_contracts') -%}
{%- set required_columns = required_values('registry_contracts') -%}

with

source as (

    {{ rows_to_check('registry', 'registry_contracts') }}

),

regions as (

    select * from {{ ref('region_codes') }}

),

contract_types as (

    select * from {{ ref('contract_types') }}

),

tech_fields as (

    select * from {{ ref('tech_fields') }}

),

-- the month a file exports, from its name: worked out once a file, not once a row
files as (

    select
        distinct_files._source_file,
        substring(distinct_files._source_file from 'contracts_(\d{4}(?:0[1-9]|1[0-2]))[^/]*$') as export_period
    from (select distinct source._source_file from source) as distinct_files

),

typed as (

    select
        source.*,
        staging.parse_cn_date(source.signed_on) as signed_date,
        staging.parse_cn_date(source.registered_on) as registered_date,
        staging.parse_amount(source.contract_amount) as contract_value,
        staging.parse_amount(source.tech_transaction_amount) as tech_value,
        files.export_period,
        row_number() over (
            partition by source._batch_id, {{ raw_columns | join(', ') }}
            order by source._row_number
        ) as copy_number
    from source
    left join files
        on source._source_file = files._source_file
    {{ evaluate_once() }}

),

bounded as (

    select
        typed.*,
        -- a date after the month the file exports cannot be right
        coalesce(
            (to_date(typed.export_period, 'YYYYMM') + interval '1 month - 1 day')::date,
            (typed._loaded_at at time zone 'Asia/Shanghai')::date
        ) as latest_possible_date
    from typed
    {{ evaluate_once() }}

),

checked as (

    select
        bounded.*,
        array_remove(
            array[
                {{ missing_required_fields('bounded', required_columns) }},
                case
                    when
                        nullif(btrim(bounded.registration_no), '') is not null
                        and btrim(bounded.registration_no) !~ '^\d{16}$'
                        then format('malformed_registration_no|registration_no %L is not 16 digits', bounded.registration_no)
                end,
                {{ invalid_date('bounded', 'signed_on', 'bounded.signed_date') }},
                {{ invalid_date('bounded', 'registered_on', 'bounded.registered_date') }},
                case
                    when bounded.signed_date > bounded.latest_possible_date
                        then format('future_date|signed_on %s is after the export (%s)', bounded.signed_date, bounded.latest_possible_date)
                end,
                case
                    when bounded.registered_date > bounded.latest_possible_date
                        then format('future_date|registered_on %s is after the export (%s)', bounded.registered_date, bounded.latest_possible_date)
                end,
                {{ date_out_of_range("'signed_on'", 'bounded.signed_date') }},
                {{ date_out_of_range("'registered_on'", 'bounded.registered_date') }},
                {{ invalid_amount('bounded', 'contract_amount', 'bounded.contract_value') }},
                {{ invalid_amount('bounded', 'tech_transaction_amount', 'bounded.tech_value') }},
                case
                    when bounded.contract_value <= 0
                        then format('non_positive_amount|contract_amount %s is not above zero', bounded.contract_value)
                end,
                case
                    when bounded.tech_value < 0
                        then format('non_positive_amount|tech_transaction_amount %s is negative', bounded.tech_value)
                end,
                {{ amount_out_of_range("'contract_amount'", 'bounded.contract_value', below_zero=false) }},
                {{ amount_out_of_range("'tech_transaction_amount'", 'bounded.tech_value', below_zero=false) }},
                case
                    when bounded.contract_value > 0 and bounded.tech_value > bounded.contract_value
                        then format(
                            'tech_amount_exceeds_contract|tech_transaction_amount %s exceeds contract_amount %s',
                            bounded.tech_value,
                            bounded.contract_value
                        )
                end,
                {{ unknown_region_code('bounded', 'seller_region_code') }},
                {{ unknown_region_code('bounded', 'buyer_region_code') }},
                {{ malformed_credit_code('bounded', 'seller_credit_code') }},
                {{ malformed_credit_code('bounded', 'buyer_credit_code') }},
                {{ not_allowed(
                    'bounded', 'contract_type', 'unknown_contract_type',
                    'select contract_types.contract_type from contract_types',
                    'is not one of the five contract types'
                ) }},
                {{ not_allowed(
                    'bounded', 'tech_field', 'unknown_tech_field',
                    'select tech_fields.tech_field from tech_fields',
                    'is not one of the 11 fields'
                ) }},
                {{ not_allowed('bounded', 'status', 'unknown_status', "'已登记', '已撤销'", 'is neither 已登记 nor 已撤销') }},
                case
                    when bounded.copy_number > 1
                        then 'duplicate_row|the same record appears earlier in the file (that copy is kept)'
                end
            ],
            null
        ) as failures
    from bounded
    {{ evaluate_once() }}

),

-- a plain flag the planner has statistics for (it cannot estimate cardinality(failures)),
-- and the row as delivered for ops.rejects: built for the rows that break a rule only
{{ flagged_checks(payload_columns=raw_columns) }}
