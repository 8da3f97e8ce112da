{#- Every platform record version with the rules it breaks ("rule|reason" strings). The
    checks read the payload's fields by name pattern, so every resource shares them: dates
    (*_on, deadline), amounts and rates, and credit codes. Incremental: a version's checks
    depend on that version alone, so only new load batches are checked. -#}
{{
    config(
        materialized='incremental',
        indexes=[{'columns': ['_batch_id']}],
        post_hook=["{{ index_invalid_rows() }}", "{{ record_batches() }}"],
    )
}}

with

source as (

    {{ rows_to_check('platform', 'platform_records') }}

),

regions as (

    select * from {{ ref('region_codes') }}

),

tech_fields as (

    select * from {{ ref('tech_fields') }}

),

checked as (

    select
        source.*,
        staging.parse_iso_timestamp(source.updated_at) as updated_time,
        array_remove(
            array[
                case
                    when staging.parse_iso_timestamp(source.updated_at) is null
                        then format('invalid_timestamp|updated_at %L is not an ISO 8601 time with an offset', source.updated_at)
                end,
                case
                    when source.deleted not in ('true', 'false')
                        then format('invalid_flag|deleted %L is neither true nor false', source.deleted)
                end
            ]
            -- the payload's own fields, by what their names say they hold
            || array(
                select
                    case
                        when (field.key like '%\_on' or field.key = 'deadline') and staging.parse_cn_date(field.value) is null
                            then format('invalid_date|%s %L is not a date', field.key, field.value)
                        when (field.key like '%\_on' or field.key = 'deadline') and {{ date_is_out_of_range('staging.parse_cn_date(field.value)') }}
                            then {{ date_out_of_range_failure('field.key', 'staging.parse_cn_date(field.value)') }}
                        when
                            field.key in ('asking_price', 'budget', 'amount', 'amount_requested', 'annual_rate', 'term_months')
                            and staging.parse_number(field.value) is null
                            then format('invalid_amount|%s %L is not a number', field.key, field.value)
                        when
                            field.key in ('asking_price', 'budget', 'amount', 'amount_requested')
                            and {{ amount_is_out_of_range('staging.parse_number(field.value)') }}
                            then {{ amount_out_of_range_failure('field.key', 'staging.parse_number(field.value)') }}
                        when field.key = 'annual_rate' and {{ amount_is_out_of_range('staging.parse_number(field.value)', 'annual_rate_max') }}
                            then {{ amount_out_of_range_failure('field.key', 'staging.parse_number(field.value)', 'annual_rate_max', ' per cent') }}
                        when field.key = 'term_months' and {{ amount_is_out_of_range('staging.parse_number(field.value)', 'term_months_max') }}
                            then {{ amount_out_of_range_failure('field.key', 'staging.parse_number(field.value)', 'term_months_max', ' months') }}
                        when field.key like '%\_credit\_code' and not staging.is_valid_credit_code(upper(btrim(field.value)))
                            then format('malformed_credit_code|%s %L is not a valid unified social credit code', field.key, field.value)
                        when field.key like '%\_region\_code' and not {{ is_known_region('btrim(field.value)') }}
                            then format('unknown_region_code|%s %L is not a GB/T 2260 code', field.key, field.value)
                        when field.key = 'tech_field' and btrim(field.value) not in (select tech_fields.tech_field from tech_fields)
                            then format('unknown_tech_field|tech_field %L is not one of the 11 fields', field.value)
                        when field.key like 'is\_%' and field.value not in ('true', 'false')
                            then format('invalid_flag|%s %L is neither true nor false', field.key, field.value)
                    end
                from jsonb_each_text(source.payload) as field (key, value)
                where field.value is not null
                order by field.key
            ),
            null
        ) as failures
    from source
    {{ evaluate_once() }}

),

-- a plain flag the planner has statistics for (it cannot estimate cardinality(failures))
{{ flagged_checks() }}
