{#- Where technology flows: registered contracts per year of registration, seller region ×
    buyer region, classed by direction as the bureau reports it. local (本地): seller and
    buyer in Qingdao; output (输出): a Qingdao seller, a buyer elsewhere or abroad; intake
    (吸纳): a buyer in Qingdao, a seller elsewhere; external (域外): neither in Qingdao. -#}
-- indexes for the BI queries (tools/ttw_dev/bench/queries); publish copies them to marts
{{
    config(
        indexes=[
            {'columns': ['registration_year']},
        ],
    )
}}

with

contracts as (

    select * from {{ ref('fct_tech_contracts') }}
    where is_registered

),

regions as (

    select * from {{ ref('dim_region') }}

),

registry_years as (

    select distinct
        calendar_year,
        is_complete_year
    from {{ ref('int_meta__registry_months') }}

),

classified as (

    select
        extract(year from contracts.registered_on)::int as registration_year,
        case
            when sellers.is_qingdao and buyers.is_qingdao then 'local'
            when sellers.is_qingdao then 'output'
            when buyers.is_qingdao then 'intake'
            else 'external'
        end as flow_direction,
        contracts.seller_region_code,
        contracts.buyer_region_code,
        contracts.contract_amount,
        contracts.tech_transaction_amount
    from contracts
    inner join regions as sellers
        on contracts.seller_region_code = sellers.region_code
    inner join regions as buyers
        on contracts.buyer_region_code = buyers.region_code

),

flows as (

    select
        registration_year,
        flow_direction,
        seller_region_code,
        buyer_region_code,
        count(*)::int as contract_count,
        sum(contract_amount)::numeric(18, 2) as contract_amount,
        sum(tech_transaction_amount)::numeric(18, 2) as tech_transaction_amount
    from classified
    group by 1, 2, 3, 4

),

final as (

    select
        flows.registration_year,
        flows.flow_direction,
        case flows.flow_direction
            when 'local' then '本地'
            when 'output' then '输出'
            when 'intake' then '吸纳'
            else '域外'
        end as flow_direction_zh,
        case flows.flow_direction
            when 'local' then 'Local'
            when 'output' then 'Output'
            when 'intake' then 'Intake'
            else 'External'
        end as flow_direction_en,
        coalesce(registry_years.is_complete_year, false) as is_complete_year,
        flows.seller_region_code,
        sellers.region_name as seller_region_name,
        sellers.region_name_en as seller_region_name_en,
        flows.buyer_region_code,
        buyers.region_name as buyer_region_name,
        buyers.region_name_en as buyer_region_name_en,
        flows.contract_count,
        flows.contract_amount,
        flows.tech_transaction_amount
    from flows
    inner join regions as sellers
        on flows.seller_region_code = sellers.region_code
    inner join regions as buyers
        on flows.buyer_region_code = buyers.region_code
    left join registry_years
        on flows.registration_year = registry_years.calendar_year

)

select * from final
