{#- How fresh the published data is, one row per source family (docs/bi.md, "How fresh,
    which periods are complete"): the newest delivery the build holds, the newest period it
    covers, whether that period is complete, the period every earlier one is complete up
    to, the newest complete year, and the build. `ttw publish` stamps published_at.
    The rules:
    - registry_contracts (monthly exports): a month is complete when its export arrived, a
      year when all twelve did;
    - center_roster (a roster a year): a year is complete when its roster arrived;
    - center_reports (annual reports): a year is complete when every center the year
      grades has filed, or once reports for a later year have started to arrive;
    - platform_records (continuous API extracts): a day is complete once an extract ran
      after it; a year once an extract ran in a later year. -#}
with

deliveries as (

    select * from {{ ref('int_meta__deliveries') }}

),

registry_months as (

    select * from {{ ref('int_meta__registry_months') }}

),

center_years as (

    select * from {{ ref('int_centers__center_years') }}

),

latest as (

    select
        source_family,
        count(*)::int as delivery_count,
        max(loaded_at) as newest_delivery_at,
        max(period_start) as newest_period
    from deliveries
    group by source_family

),

newest_month as (

    select max(month_start) as month_start
    from registry_months

),

registry as (

    select
        'registry_contracts' as source_family,
        'month' as period_grain,
        max(registry_months.month_start) as newest_period,
        bool_or(registry_months.is_complete_month) filter (
            where registry_months.month_start = newest_month.month_start
        ) as is_newest_period_complete,
        max(registry_months.month_start) filter (where registry_months.is_complete_through) as complete_through,
        max(registry_months.calendar_year) filter (where registry_months.is_complete_year) as newest_complete_year
    from registry_months
    cross join newest_month

),

rosters as (

    select
        'center_roster' as source_family,
        'year' as period_grain,
        max(period_start) as newest_period,
        true as is_newest_period_complete,
        max(period_start) as complete_through,
        max(extract(year from period_start))::int as newest_complete_year
    from deliveries
    where source_family = 'center_roster'

),

report_years as (

    select
        evaluation_year,
        bool_and(has_report) filter (where is_graded) as all_filed,
        bool_or(has_report) as any_filed
    from center_years
    group by evaluation_year

),

newest_report_year as (

    select max(evaluation_year) as evaluation_year
    from report_years
    where any_filed

),

report_completeness as (

    select
        report_years.evaluation_year,
        coalesce(report_years.all_filed, false)
        or report_years.evaluation_year < newest_report_year.evaluation_year as is_complete
    from report_years
    cross join newest_report_year
    where report_years.any_filed

),

reports as (

    select
        'center_reports' as source_family,
        'year' as period_grain,
        make_date(max(report_completeness.evaluation_year), 1, 1) as newest_period,
        bool_or(report_completeness.is_complete) filter (
            where report_completeness.evaluation_year = newest_report_year.evaluation_year
        ) as is_newest_period_complete,
        make_date(max(report_completeness.evaluation_year) filter (where report_completeness.is_complete), 1, 1)
            as complete_through,
        max(report_completeness.evaluation_year) filter (where report_completeness.is_complete)
            as newest_complete_year
    from report_completeness
    cross join newest_report_year

),

platforms as (

    select
        'platform_records' as source_family,
        'day' as period_grain,
        max(loaded_at)::date as newest_period,
        false as is_newest_period_complete,
        (max(loaded_at)::date - 1) as complete_through,
        (max(extract(year from loaded_at)) - 1)::int as newest_complete_year
    from deliveries
    where source_family = 'platform_records'

),

periods as (

    select * from registry
    union all
    select * from rosters
    union all
    select * from reports
    union all
    select * from platforms

),

final as (

    select
        latest.source_family,
        case latest.source_family
            {%- for family, label in source_family_labels().items() %}
                when '{{ family }}' then '{{ label.zh }}'
            {%- endfor %}
        end as source_family_zh,
        case latest.source_family
            {%- for family, label in source_family_labels().items() %}
                when '{{ family }}' then '{{ label.en }}'
            {%- endfor %}
        end as source_family_en,
        periods.period_grain,
        latest.delivery_count,
        latest.newest_delivery_at,
        periods.newest_period,
        coalesce(periods.is_newest_period_complete, false) as is_newest_period_complete,
        periods.complete_through,
        periods.newest_complete_year,
        {{ build_id() }} as build_id,
        now() as built_at,
        null::timestamptz as published_at
    from latest
    inner join periods
        on latest.source_family = periods.source_family

)

select * from final
