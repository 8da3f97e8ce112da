-- A year's technology flows: where technology went, seller region to buyer region.
select
    flow_direction_zh,
    seller_region_name,
    buyer_region_name,
    contract_count,
    contract_amount
from marts.rpt_technology_flows
where registration_year = %(year)s
order by contract_amount desc
