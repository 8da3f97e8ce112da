{#- Technology-finance loans banks issued through the finance platform, one row per loan
    in its current state (deleted loans left out). -#}
with

loans as (

    {{ current_versions('stg_platform__loans') }}

),

final as (

    select
        platform,
        loan_id,
        financing_need_id,
        enterprise_credit_code,
        {{ region_key('enterprise_region_code', "'156'") }} as enterprise_region_code,
        bank_name,
        loan_amount,
        annual_rate_pct,
        term_months,
        issued_on,
        is_ip_pledge,
        updated_at,
        batch_id
    from loans
    where not is_deleted

)

select * from final
