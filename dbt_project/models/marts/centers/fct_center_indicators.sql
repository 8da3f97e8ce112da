{#- Center × year × indicator for every year a center was in the system: the value its
    annual report gives and, where the registry can check it, the value the registry
    verifies (contracts the host organization sold that year; local = the buyer is in
    Qingdao). A center-year without a report has a row per indicator with no reported value. -#}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}

),

catalog as (

    select * from {{ ref('report_indicators') }}

),

indicators as (

    select * from {{ ref('stg_reports__indicators') }}

),

contracts as (

    select * from {{ ref('fct_tech_contracts') }}

),

regions as (

    select * from {{ ref('dim_region') }}

),

-- what the registry knows about each host's sales per year, in the reports' units (万元)
registry_figures as (

    select
        contracts.seller_credit_code,
        extract(year from contracts.registered_on)::int as registration_year,
        count(*) as contracts_sold_count,
        round(sum(contracts.contract_amount) / 10000, 2) as contracts_sold_amount,
        count(*) filter (where regions.is_qingdao) as local_transfer_count,
        coalesce(round(sum(contracts.contract_amount) filter (where regions.is_qingdao) / 10000, 2), 0)
            as local_transfer_amount
    from contracts
    inner join regions
        on contracts.buyer_region_code = regions.region_code
    where contracts.is_registered
    group by 1, 2

),

verified as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        figures.verification,
        figures.verified_value
    from center_years
    left join registry_figures
        on
            center_years.host_credit_code = registry_figures.seller_credit_code
            and center_years.evaluation_year = registry_figures.registration_year
    cross join lateral (
        values
        ('contracts_sold_count', coalesce(registry_figures.contracts_sold_count, 0)::numeric),
        ('contracts_sold_amount', coalesce(registry_figures.contracts_sold_amount, 0)),
        ('local_transfer_count', coalesce(registry_figures.local_transfer_count, 0)::numeric),
        ('local_transfer_amount', coalesce(registry_figures.local_transfer_amount, 0))
    ) as figures (verification, verified_value)

),

final as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        catalog.indicator_code,
        catalog.indicator_name,
        catalog.unit,
        center_years.host_credit_code,
        center_years.district_code,
        center_years.industry,
        center_years.has_report,
        indicators.reported_value,
        verified.verified_value as registry_verified_value,
        indicators.reported_value - verified.verified_value as verification_gap,
        round(
            (indicators.reported_value - verified.verified_value) * 100 / nullif(verified.verified_value, 0),
            2
        ) as verification_gap_pct,
        center_years.report_file,
        indicators.source_cell,
        center_years.has_dropped_indicators,
        center_years.dropped_indicators,
        -- the cell of the reported value in report_file (the current version's workbook)
        indicators.source_cell as report_cell
    from center_years
    cross join catalog
    left join indicators
        on
            center_years.report_batch_id = indicators.batch_id
            and catalog.indicator_name = indicators.indicator
    left join verified
        on
            center_years.center_code = verified.center_code
            and center_years.evaluation_year = verified.evaluation_year
            and catalog.verification = verified.verification

)

select * from final
