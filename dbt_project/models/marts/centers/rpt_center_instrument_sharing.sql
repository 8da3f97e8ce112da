{#- Center × year for every year a center was in the system: the large-instrument figures
    of its current report (大型仪器数, 有效机时, 对外共享机时) and the sharing rate they
    give, shared ÷ effective hours × 100, only when the center reports large instruments
    and effective hours above 0. When there is no rate, note_zh / note_en say why. -#}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}

),

indicators as (

    select * from {{ ref('fct_center_indicators') }}
    where indicator_code in ('large_instruments', 'effective_machine_hours', 'shared_machine_hours')

),

figures as (

    select
        center_code,
        evaluation_year,
        max(reported_value) filter (where indicator_code = 'large_instruments') as large_instruments,
        max(reported_value) filter (where indicator_code = 'effective_machine_hours') as effective_machine_hours,
        max(reported_value) filter (where indicator_code = 'shared_machine_hours') as shared_machine_hours,
        max(report_cell) filter (where indicator_code = 'large_instruments') as large_instruments_cell,
        max(report_cell) filter (where indicator_code = 'effective_machine_hours') as effective_machine_hours_cell,
        max(report_cell) filter (where indicator_code = 'shared_machine_hours') as shared_machine_hours_cell
    from indicators
    group by center_code, evaluation_year

),

joined as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        center_years.center_name,
        center_years.district_code,
        center_years.industry,
        center_years.has_report,
        center_years.report_file,
        figures.large_instruments,
        figures.effective_machine_hours,
        figures.shared_machine_hours,
        figures.large_instruments_cell,
        figures.effective_machine_hours_cell,
        figures.shared_machine_hours_cell,
        -- why there is no rate, the first reason that applies
        case
            when not center_years.has_report then 'no_report'
            when coalesce(figures.large_instruments, 0) <= 0 then 'no_instruments'
            when coalesce(figures.effective_machine_hours, 0) <= 0 then 'no_effective_hours'
            when figures.shared_machine_hours is null then 'no_shared_hours'
        end as no_rate_reason
    from center_years
    left join figures
        on
            center_years.center_code = figures.center_code
            and center_years.evaluation_year = figures.evaluation_year

),

final as (

    select
        center_code,
        evaluation_year,
        center_name,
        district_code,
        industry,
        has_report,
        report_file,
        large_instruments,
        effective_machine_hours,
        shared_machine_hours,
        coalesce(large_instruments, 0) > 0 as has_instruments,
        case
            when no_rate_reason is null
                then round(shared_machine_hours * 100 / effective_machine_hours, 2)
        end::numeric(8, 2) as sharing_rate_pct,
        no_rate_reason,
        case no_rate_reason
            when 'no_report' then '未提交年度报告，不计算共享率'
            when 'no_instruments' then '未报告大型仪器，不计算共享率'
            when 'no_effective_hours' then '未报告有效机时，不计算共享率'
            when 'no_shared_hours' then '未报告对外共享机时，不计算共享率'
        end as note_zh,
        case no_rate_reason
            when 'no_report' then 'No annual report filed: no sharing rate'
            when 'no_instruments' then 'No large instruments reported: no sharing rate'
            when 'no_effective_hours' then 'No effective machine hours reported: no sharing rate'
            when 'no_shared_hours' then 'No shared machine hours reported: no sharing rate'
        end as note_en,
        large_instruments_cell,
        effective_machine_hours_cell,
        shared_machine_hours_cell
    from joined

)

select * from final
