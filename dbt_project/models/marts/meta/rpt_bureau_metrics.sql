{#- The bureau's metrics, defined once (seed metric_definitions, docs/bi.md "Metrics"):
    one row per metric × period (month or year) × region (each Qingdao district and the
    city, 370200), with the numerator and denominator it is computed from. Numerators and
    denominators add up across districts and months; the value does not, so a dashboard
    that groups rows sums numerator and denominator and applies the metric's formula
    again (docs/bi.md shows the query). A year's figures are year to date through its
    newest month; is_complete_period says whether the period is complete. -#}
with

monthly as (

    select * from {{ ref('rpt_contract_turnover_monthly') }}

),

flows as (

    select * from {{ ref('rpt_technology_flows') }}

),

funnel as (

    select * from {{ ref('rpt_conversion_funnel') }}

),

definitions as (

    select * from {{ ref('metric_definitions') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

-- turnover and contract count per district and month, and the city as one more region
district_months as (

    select
        district_code as region_code,
        month_start,
        bool_and(is_complete_month) as is_complete_month,
        bool_and(is_complete_year) as is_complete_year,
        sum(contract_amount) as contract_amount,
        sum(contract_count) as contract_count,
        sum(coalesce(prior_year_contract_amount, 0)) as prior_year_contract_amount
    from monthly
    group by district_code, month_start

),

region_months as (

    select * from district_months
    union all
    select
        '370200' as region_code,
        month_start,
        bool_and(is_complete_month) as is_complete_month,
        bool_and(is_complete_year) as is_complete_year,
        sum(contract_amount) as contract_amount,
        sum(contract_count) as contract_count,
        sum(prior_year_contract_amount) as prior_year_contract_amount
    from district_months
    group by month_start

),

periods as (

    select
        'month' as period_grain,
        month_start as period_start,
        region_code,
        is_complete_month as is_complete_period,
        contract_amount,
        contract_count,
        prior_year_contract_amount
    from region_months
    union all
    select
        'year' as period_grain,
        date_trunc('year', month_start)::date as period_start,
        region_code,
        bool_and(is_complete_year) as is_complete_period,
        sum(contract_amount) as contract_amount,
        sum(contract_count) as contract_count,
        sum(prior_year_contract_amount) as prior_year_contract_amount
    from region_months
    group by date_trunc('year', month_start), region_code

),

turnover_metrics as (

    select
        periods.period_grain,
        periods.period_start,
        periods.region_code,
        periods.is_complete_period,
        metric.metric_code,
        metric.numerator,
        metric.denominator
    from periods
    cross join lateral (
        values
        ('turnover', periods.contract_amount, null::numeric),
        ('contract_count', periods.contract_count::numeric, null::numeric),
        ('turnover_yoy_pct', periods.contract_amount, periods.prior_year_contract_amount)
    ) as metric (metric_code, numerator, denominator)

),

-- Qingdao sellers' turnover by where the buyer is (local or output)
local_flows as (

    select
        flows.registration_year,
        flows.seller_region_code as region_code,
        bool_and(flows.is_complete_year) as is_complete_year,
        coalesce(sum(flows.contract_amount) filter (where flows.flow_direction = 'local'), 0) as local_amount,
        sum(flows.contract_amount) as seller_amount
    from flows
    inner join regions
        on flows.seller_region_code = regions.region_code
    where flows.flow_direction in ('local', 'output') and regions.region_level = 'district'
    group by flows.registration_year, flows.seller_region_code

),

local_metrics as (

    select
        'year' as period_grain,
        make_date(registration_year, 1, 1) as period_start,
        region_code,
        is_complete_year as is_complete_period,
        'local_share_pct' as metric_code,
        local_amount as numerator,
        seller_amount as denominator
    from local_flows
    union all
    select
        'year' as period_grain,
        make_date(registration_year, 1, 1) as period_start,
        '370200' as region_code,
        bool_and(is_complete_year) as is_complete_period,
        'local_share_pct' as metric_code,
        sum(local_amount) as numerator,
        sum(seller_amount) as denominator
    from local_flows
    group by registration_year

),

funnel_years as (

    select
        funnel_year,
        bool_and(is_complete_year) as is_complete_year,
        sum(item_count) filter (where funnel_stage = 'demands') as demands,
        sum(item_count) filter (where funnel_stage = 'matches') as matches,
        sum(item_count) filter (where funnel_stage = 'registered_contracts') as contracts
    from funnel
    group by funnel_year

),

funnel_metrics as (

    select
        'year' as period_grain,
        make_date(funnel_years.funnel_year, 1, 1) as period_start,
        '370200' as region_code,
        funnel_years.is_complete_year as is_complete_period,
        metric.metric_code,
        metric.numerator,
        metric.denominator
    from funnel_years
    cross join lateral (
        values
        ('match_rate_pct', funnel_years.matches::numeric, funnel_years.demands::numeric),
        ('contract_rate_pct', funnel_years.contracts::numeric, funnel_years.matches::numeric)
    ) as metric (metric_code, numerator, denominator)

),

all_metrics as (

    select * from turnover_metrics
    union all
    select * from local_metrics
    union all
    select * from funnel_metrics

),

final as (

    select
        all_metrics.metric_code,
        definitions.metric_name_zh,
        definitions.metric_name_en,
        all_metrics.period_grain,
        all_metrics.period_start,
        all_metrics.region_code,
        regions.region_name,
        regions.region_name_en,
        all_metrics.numerator::numeric(20, 2) as numerator,
        all_metrics.denominator::numeric(20, 2) as denominator,
        case
            when all_metrics.metric_code in ('turnover', 'contract_count') then all_metrics.numerator
            when all_metrics.metric_code = 'turnover_yoy_pct'
                then round(100.0 * (all_metrics.numerator - all_metrics.denominator) / nullif(all_metrics.denominator, 0), 2)
            else round(100.0 * all_metrics.numerator / nullif(all_metrics.denominator, 0), 2)
        end::numeric(20, 2) as metric_value,
        definitions.unit,
        definitions.unit_en,
        coalesce(all_metrics.is_complete_period, false) as is_complete_period
    from all_metrics
    inner join definitions
        on all_metrics.metric_code = definitions.metric_code
    inner join regions
        on all_metrics.region_code = regions.region_code

)

select * from final
