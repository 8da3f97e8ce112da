-- Drill-through from the turnover tile: a district's 100 largest contracts sold in a
-- month, read from the contract fact itself.
select
    registration_no,
    contract_type,
    registered_on,
    buyer_region_code,
    contract_amount
from marts.fct_tech_contracts
where
    seller_region_code = %(district)s
    and registered_on >= %(month)s
    and registered_on < %(month)s + interval '1 month'
order by contract_amount desc
limit 100
