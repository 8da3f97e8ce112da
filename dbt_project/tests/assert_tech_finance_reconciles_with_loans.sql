-- rpt_tech_finance adds up to the loan fact and the platform's financing needs.
with

loans as (

    select
        count(*) as loan_count,
        coalesce(sum(loan_amount), 0) as loan_amount
    from {{ ref('fct_loans') }}
    where issued_on is not null

),

needs as (

    select count(*) as need_count
    from {{ ref('int_platform__financing_needs') }}
    where published_on is not null

),

report as (

    select
        coalesce(sum(loan_count), 0) as loan_count,
        coalesce(sum(loan_amount), 0) as loan_amount,
        coalesce(sum(financing_need_count), 0) as need_count
    from {{ ref('rpt_tech_finance') }}

)

select
    loans.loan_count,
    report.loan_count as report_loan_count,
    loans.loan_amount,
    report.loan_amount as report_loan_amount,
    needs.need_count,
    report.need_count as report_need_count
from loans
cross join needs
cross join report
where
    loans.loan_count <> report.loan_count
    or loans.loan_amount <> report.loan_amount
    or needs.need_count <> report.need_count
