with

records as (

    {{ platform_records('loans') }}

),

typed as (

    select
        platform,
        record_id as loan_id,
        nullif(btrim(payload ->> 'financing_need_id'), '') as financing_need_id,
        {{ platform_party('enterprise') }},
        nullif(btrim(payload ->> 'bank_name'), '') as bank_name,
        staging.parse_number(payload ->> 'amount')::numeric(18, 2) as loan_amount,
        staging.parse_number(payload ->> 'annual_rate')::numeric(6, 2) as annual_rate_pct,
        staging.parse_number(payload ->> 'term_months')::int as term_months,
        staging.parse_cn_date(payload ->> 'issued_on') as issued_on,
        coalesce((payload ->> 'is_ip_pledge')::boolean, false) as is_ip_pledge,
        {{ platform_version_columns() }}
    from records

)

select * from typed
