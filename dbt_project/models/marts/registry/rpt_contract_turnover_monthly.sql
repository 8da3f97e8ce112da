-- indexes for the BI queries (tools/ttw_dev/bench/queries); publish copies them to marts
{{
    config(
        indexes=[
            {'columns': ['district_code', 'month_start']},
        ],
    )
}}

with

contracts as (

    select * from {{ ref('fct_tech_contracts') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

contract_types as (

    select * from {{ ref('dim_contract_type') }}

),

tech_fields as (

    select * from {{ ref('dim_tech_field') }}

),

registry_months as (

    select * from {{ ref('int_meta__registry_months') }}

),

-- registered contracts sold by Qingdao parties, the basis of the city's turnover figures
qingdao_contracts as (

    select
        contracts.seller_region_code as district_code,
        date_trunc('month', contracts.registered_on)::date as month_start,
        contracts.contract_type,
        contracts.tech_field,
        contracts.contract_amount,
        contracts.tech_transaction_amount
    from contracts
    inner join regions
        on contracts.seller_region_code = regions.region_code
    where
        contracts.is_registered
        and regions.region_level = 'district'

),

monthly as (

    select
        district_code,
        month_start,
        contract_type,
        tech_field,
        count(*) as contract_count,
        sum(contract_amount) as contract_amount,
        sum(tech_transaction_amount) as tech_transaction_amount
    from qingdao_contracts
    group by 1, 2, 3, 4

),

-- every month from the January of the first year with data to the last month with
-- data, so YoY and YTD see months without contracts and no month runs ahead of the data
months as (

    select
        generate_series(
            date_trunc('year', min(month_start)),
            max(month_start),
            interval '1 month'
        )::date as month_start
    from monthly

),

combinations as (

    select distinct
        district_code,
        contract_type,
        tech_field
    from monthly

),

spine as (

    select
        combinations.district_code,
        months.month_start,
        combinations.contract_type,
        combinations.tech_field
    from combinations
    cross join months

),

filled as (

    select
        spine.district_code,
        spine.month_start,
        spine.contract_type,
        spine.tech_field,
        coalesce(monthly.contract_count, 0) as contract_count,
        coalesce(monthly.contract_amount, 0) as contract_amount,
        coalesce(monthly.tech_transaction_amount, 0) as tech_transaction_amount
    from spine
    left join monthly
        on
            spine.district_code = monthly.district_code
            and spine.month_start = monthly.month_start
            and spine.contract_type = monthly.contract_type
            -- tech_field is never null here (fct_tech_contracts tests not_null), so a plain
            -- equality: the join then merges on three keys, where `is not distinct from`
            -- (no merge or hash key) compared 19.7 M row pairs at scale 10, 1.8 M now
            and spine.tech_field = monthly.tech_field

),

with_history as (

    select
        filled.*,
        lag(filled.contract_count, 12) over cell as prior_year_contract_count,
        lag(filled.contract_amount, 12) over cell as prior_year_contract_amount,
        sum(filled.contract_count) over year_to_date as ytd_contract_count,
        sum(filled.contract_amount) over year_to_date as ytd_contract_amount,
        sum(filled.tech_transaction_amount) over year_to_date as ytd_tech_transaction_amount
    from filled
    window
        cell as (
            partition by filled.district_code, filled.contract_type, filled.tech_field
            order by filled.month_start
        ),
        year_to_date as (
            partition by
                filled.district_code,
                filled.contract_type,
                filled.tech_field,
                date_trunc('year', filled.month_start)
            order by filled.month_start
        )

),

-- the same cell's year-to-date a year before, so a YTD change is a ratio of two sums
with_prior_ytd as (

    select
        with_history.*,
        lag(with_history.ytd_contract_count, 12) over cell as prior_year_ytd_contract_count,
        lag(with_history.ytd_contract_amount, 12) over cell as prior_year_ytd_contract_amount
    from with_history
    window cell as (
        partition by with_history.district_code, with_history.contract_type, with_history.tech_field
        order by with_history.month_start
    )

),

final as (

    select
        with_history.district_code,
        regions.region_name as district_name,
        regions.region_name_en as district_name_en,
        with_history.month_start,
        extract(year from with_history.month_start)::int as registration_year,
        extract(month from with_history.month_start)::int as registration_month,
        with_history.contract_type,
        contract_types.contract_type_en,
        with_history.tech_field,
        tech_fields.tech_field_en,
        coalesce(registry_months.is_complete_month, false) as is_complete_month,
        coalesce(registry_months.is_complete_year, false) as is_complete_year,
        with_history.contract_count::int as contract_count,
        with_history.contract_amount::numeric(18, 2) as contract_amount,
        with_history.tech_transaction_amount::numeric(18, 2) as tech_transaction_amount,
        with_history.prior_year_contract_count::int as prior_year_contract_count,
        with_history.prior_year_contract_amount::numeric(18, 2) as prior_year_contract_amount,
        -- null past what numeric(12, 2) holds (a change of 10^10 %: a 0.01 yuan month before
        -- a large one), so no pair of valid contracts can fail the build
        case
            when
                with_history.prior_year_contract_amount > 0
                and abs(with_history.contract_amount - with_history.prior_year_contract_amount)
                < 99999999 * with_history.prior_year_contract_amount
                then round(
                    100.0 * (with_history.contract_amount - with_history.prior_year_contract_amount)
                    / with_history.prior_year_contract_amount,
                    2
                )
        end::numeric(12, 2) as contract_amount_yoy_pct,
        with_history.ytd_contract_count::int as ytd_contract_count,
        with_history.ytd_contract_amount::numeric(18, 2) as ytd_contract_amount,
        with_history.ytd_tech_transaction_amount::numeric(18, 2) as ytd_tech_transaction_amount,
        with_history.prior_year_ytd_contract_count::int as prior_year_ytd_contract_count,
        with_history.prior_year_ytd_contract_amount::numeric(18, 2) as prior_year_ytd_contract_amount
    from with_prior_ytd as with_history
    inner join regions
        on with_history.district_code = regions.region_code
    left join contract_types
        on with_history.contract_type = contract_types.contract_type
    left join tech_fields
        on with_history.tech_field = tech_fields.tech_field
    left join registry_months
        on with_history.month_start = registry_months.month_start

)

select * from final
