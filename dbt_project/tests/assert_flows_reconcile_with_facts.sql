-- Technology flows add up, year by year, to the registered contracts in the fact table:
-- each contract in exactly one seller-buyer pair and direction.
with

facts as (

    select
        extract(year from registered_on)::int as registration_year,
        count(*) as contract_count,
        sum(contract_amount) as contract_amount
    from {{ ref('fct_tech_contracts') }}
    where is_registered
    group by 1

),

flows as (

    select
        registration_year,
        sum(contract_count) as contract_count,
        sum(contract_amount) as contract_amount
    from {{ ref('rpt_technology_flows') }}
    group by 1

)

select
    coalesce(facts.registration_year, flows.registration_year) as registration_year,
    facts.contract_count as fact_count,
    flows.contract_count as flow_count,
    facts.contract_amount as fact_amount,
    flows.contract_amount as flow_amount
from facts
full outer join flows
    on facts.registration_year = flows.registration_year
where
    facts.contract_count is distinct from flows.contract_count
    or facts.contract_amount is distinct from flows.contract_amount
