-- District turnover for one month: contracts and amounts by contract type, with the
-- year to date (the district dashboard's headline tile).
select
    contract_type,
    sum(contract_count) as contracts,
    sum(contract_amount) as contract_amount,
    sum(tech_transaction_amount) as tech_transaction_amount,
    sum(ytd_contract_amount) as ytd_contract_amount
from marts.rpt_contract_turnover_monthly
where district_code = %(district)s and month_start = %(month)s
group by contract_type
order by contract_amount desc
