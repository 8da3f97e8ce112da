-- The monthly turnover report adds up to the registered contracts sold by Qingdao
-- districts in the fact table: no contract lost or counted twice on the way.
with

facts as (

    select
        count(*) as contract_count,
        coalesce(sum(contracts.contract_amount), 0) as contract_amount
    from {{ ref('fct_tech_contracts') }} as contracts
    inner join {{ ref('dim_region') }} as regions
        on contracts.seller_region_code = regions.region_code
    where
        contracts.is_registered
        and regions.region_level = 'district'

),

report as (

    select
        coalesce(sum(contract_count), 0) as contract_count,
        coalesce(sum(contract_amount), 0) as contract_amount
    from {{ ref('rpt_contract_turnover_monthly') }}

)

select
    facts.contract_count as fact_count,
    report.contract_count as report_count,
    facts.contract_amount as fact_amount,
    report.contract_amount as report_amount
from facts
cross join report
where
    facts.contract_count <> report.contract_count
    or facts.contract_amount <> report.contract_amount
