{#- Technology finance per year and district of the enterprise: financing needs posted on
    the finance platform, loans banks issued, how much of it was pledged on intellectual
    property, and the amount-weighted average rate. Enterprises outside Qingdao are
    grouped under their province. -#}
with

needs as (

    select * from {{ ref('int_platform__financing_needs') }}

),

loans as (

    select * from {{ ref('fct_loans') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

need_totals as (

    select
        extract(year from published_on)::int as finance_year,
        enterprise_region_code as region_code,
        count(*)::int as financing_need_count,
        sum(amount_requested) as amount_requested
    from needs
    group by 1, 2

),

loan_totals as (

    select
        extract(year from issued_on)::int as finance_year,
        enterprise_region_code as region_code,
        count(*)::int as loan_count,
        sum(loan_amount) as loan_amount,
        count(*) filter (where is_ip_pledge)::int as ip_pledge_loan_count,
        coalesce(sum(loan_amount) filter (where is_ip_pledge), 0) as ip_pledge_loan_amount,
        sum(loan_amount * annual_rate_pct) / nullif(sum(loan_amount) filter (where annual_rate_pct is not null), 0)
            as weighted_rate_pct,
        avg(term_months) as average_term_months
    from loans
    group by 1, 2

),

combined as (

    select
        coalesce(need_totals.finance_year, loan_totals.finance_year) as finance_year,
        coalesce(need_totals.region_code, loan_totals.region_code) as region_code,
        coalesce(need_totals.financing_need_count, 0) as financing_need_count,
        coalesce(need_totals.amount_requested, 0) as amount_requested,
        coalesce(loan_totals.loan_count, 0) as loan_count,
        coalesce(loan_totals.loan_amount, 0) as loan_amount,
        coalesce(loan_totals.ip_pledge_loan_count, 0) as ip_pledge_loan_count,
        coalesce(loan_totals.ip_pledge_loan_amount, 0) as ip_pledge_loan_amount,
        loan_totals.weighted_rate_pct,
        loan_totals.average_term_months
    from need_totals
    full outer join loan_totals
        on
            need_totals.finance_year = loan_totals.finance_year
            and need_totals.region_code = loan_totals.region_code

),

-- a year is complete once a platform extract ran in a later year
complete_years as (

    select extract(year from max(loaded_at))::int as first_incomplete_year
    from {{ ref('int_meta__deliveries') }}
    where source_family = 'platform_records'

),

final as (

    select
        combined.finance_year,
        combined.region_code,
        regions.region_name,
        regions.region_name_en,
        combined.finance_year < complete_years.first_incomplete_year as is_complete_year,
        combined.financing_need_count,
        combined.amount_requested::numeric(18, 2) as amount_requested,
        combined.loan_count,
        combined.loan_amount::numeric(18, 2) as loan_amount,
        combined.ip_pledge_loan_count,
        combined.ip_pledge_loan_amount::numeric(18, 2) as ip_pledge_loan_amount,
        round(combined.weighted_rate_pct, 2)::numeric(6, 2) as weighted_rate_pct,
        round(combined.average_term_months, 1)::numeric(6, 1) as average_term_months,
        -- null past what numeric(12, 2) holds (loans 10^8 times the amount requested)
        case
            when combined.loan_amount < 99999999 * combined.amount_requested
                then round(combined.loan_amount * 100 / combined.amount_requested, 2)
        end::numeric(12, 2) as loan_to_need_pct
    from combined
    cross join complete_years
    inner join regions
        on combined.region_code = regions.region_code

)

select * from final
