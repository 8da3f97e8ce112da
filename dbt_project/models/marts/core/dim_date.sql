{#- One row per calendar day over the range the warehouse reports on (the vars
    dim_date_start and dim_date_end), with the calendar attributes BI tools group by. -#}
with

days as (

    select generate_series(
        '{{ var("dim_date_start") }}'::date,
        '{{ var("dim_date_end") }}'::date,
        interval '1 day'
    )::date as date_day

),

final as (

    select
        date_day,
        extract(year from date_day)::int as calendar_year,
        extract(quarter from date_day)::int as calendar_quarter,
        extract(month from date_day)::int as calendar_month,
        extract(day from date_day)::int as day_of_month,
        extract(isodow from date_day)::int as iso_day_of_week,
        case when extract(month from date_day) <= 6 then 1 else 2 end as calendar_half,
        date_trunc('month', date_day)::date as month_start,
        date_trunc('quarter', date_day)::date as quarter_start,
        date_trunc('year', date_day)::date as year_start,
        to_char(date_day, 'YYYY-MM') as calendar_year_month,
        to_char(date_day, 'YYYY"年"FMMM"月"') as calendar_year_month_zh,
        extract(isodow from date_day) in (6, 7) as is_weekend
    from days

)

select * from final
