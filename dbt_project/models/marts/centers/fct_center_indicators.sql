{#- Center × year × indicator for every year a center was in the system: the value its
    annual report gives and, where the registry can check it, the value the registry
    verifies (contracts the host organization sold that year; local = the buyer is in
    Qingdao). A center-year without a report has a row per indicator with no reported value.
    Incremental on a `ttw build --changed` run (the var scope_to_new_batches): the
    evaluation years whose inputs the new batches changed are rebuilt whole and the other
    years kept. A registry batch changes the registration years of every version of the
    contracts it carries (a correction may move a contract to another year, or cancel it);
    a batch of any other source (roster, reports) rebuilds every year. Every other build
    rebuilds the table from scratch, as a plain table would be. -#}
{{
    config(
        materialized='incremental',
        unique_key='evaluation_year',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        full_refresh=(none if var('scope_to_new_batches', false) else true),
        post_hook="{{ record_batches() }}",
    )
}}
-- depends_on: {{ ref('stg_registry__contracts') }}

with

{% if is_incremental() -%}
    registry_versions as (

        select * from {{ ref('stg_registry__contracts') }}

    ),

    -- the years a new batch changes: all of them when it is not the registry's, else the
    -- registration years of every version of the contracts it carries
    touched_years as (

        select distinct extract(year from versions.registered_on)::int as evaluation_year
        from registry_versions as versions
        where
            versions.registration_no in (
                select carried.registration_no from registry_versions as carried
                where {{ unseen_batches('carried.batch_id') }}
            )
        union
        select all_years.evaluation_year
        from {{ ref('int_centers__center_years') }} as all_years
        where exists (
            select 1 from ops.load_batches as batches
            where
                batches.source_family <> 'registry_contracts'
                and {{ unseen_batches('batches.batch_id') }}
        )

    ),

{% endif -%}
center_years as (

    select * from {{ ref('int_centers__center_years') }}
    {%- if is_incremental() %}
        where evaluation_year in (select touched_years.evaluation_year from touched_years)
    {%- endif %}

),

catalog as (

    select * from {{ ref('report_indicators') }}

),

indicators as (

    select * from {{ ref('stg_reports__indicators') }}

),

contracts as (

    select * from {{ ref('fct_tech_contracts') }}
    {%- if is_incremental() %}
        where
            registered_on >= make_date((select min(touched_years.evaluation_year) from touched_years), 1, 1)
            and extract(year from registered_on)::int in (select touched_years.evaluation_year from touched_years)
    {%- endif %}

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
