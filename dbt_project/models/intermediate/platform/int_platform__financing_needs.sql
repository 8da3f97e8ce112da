{#- Financing needs enterprises posted on the finance platform, current state, deleted
    ones left out: the demand side of rpt_tech_finance. -#}
with

needs as (

    {{ current_versions('stg_platform__financing_needs') }}

),

final as (

    select
        platform,
        financing_need_id,
        enterprise_credit_code,
        {{ region_key('enterprise_region_code', "'156'") }} as enterprise_region_code,
        amount_requested,
        purpose,
        published_on,
        status
    from needs
    where not is_deleted

)

select * from final
