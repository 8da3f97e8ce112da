{#- Every center-year in the system (a year awaiting reports, with none loaded yet,
    excepted: it is not graded) × every indicator of the evaluation scheme in force
    that year (the seed evaluation_scheme, docs/evaluation.md): the value the scheme takes — as
    reported, as the registry verifies it, or the lower of the two; a ratio of two
    reported indicators where the scheme says so — its normalized score (0–100), weight
    and contribution to the total. A value the center did not give scores 0. -#}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}
    where not is_awaiting_reports

),

indicators as (

    select * from {{ ref('fct_center_indicators') }}

),

scheme as (

    select * from {{ ref('evaluation_scheme') }}

),

-- the scheme version in force in a year: the latest one starting in or before it
scheme_years as (

    select distinct on (center_years.evaluation_year)
        center_years.evaluation_year,
        scheme.scheme_version
    from center_years
    inner join scheme
        on center_years.evaluation_year >= scheme.first_year
    order by center_years.evaluation_year asc, scheme.first_year desc

),

values_used as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        center_years.industry,
        scheme.scheme_version,
        scheme.indicator_code,
        scheme.indicator_name,
        scheme.indicator_name_en,
        scheme.category,
        scheme.unit,
        scheme.weight,
        scheme.direction,
        scheme.normalization,
        scheme.benchmark_percentile,
        scheme.value_basis,
        scheme.target_value,
        case
            when scheme.denominator_indicator is null then numerators.reported_value
            else round(numerators.reported_value * 100 / nullif(denominators.reported_value, 0), 4)
        end as reported_value,
        case when scheme.denominator_indicator is null then numerators.registry_verified_value end
            as registry_verified_value
    from center_years
    inner join scheme_years
        on center_years.evaluation_year = scheme_years.evaluation_year
    inner join scheme
        on scheme_years.scheme_version = scheme.scheme_version
    left join indicators as numerators
        on
            center_years.center_code = numerators.center_code
            and center_years.evaluation_year = numerators.evaluation_year
            and scheme.numerator_indicator = numerators.indicator_code
    left join indicators as denominators
        on
            center_years.center_code = denominators.center_code
            and center_years.evaluation_year = denominators.evaluation_year
            and scheme.denominator_indicator = denominators.indicator_code

),

chosen as (

    select
        values_used.*,
        case values_used.value_basis
            when 'verified' then coalesce(values_used.registry_verified_value, values_used.reported_value)
            -- least() skips nulls: without a report the registry's figure stands alone
            when 'lower' then least(values_used.reported_value, values_used.registry_verified_value)
            else values_used.reported_value
        end as scored_value
    from values_used

),

-- per year and indicator, over the centers that gave a value
benchmarks as (

    select
        evaluation_year,
        indicator_code,
        min(scored_value) as min_value,
        max(scored_value) as max_value,
        percentile_cont(coalesce(benchmark_percentile, 0.5)) within group (order by scored_value) as benchmark_value
    from chosen
    where scored_value is not null
    group by evaluation_year, indicator_code, benchmark_percentile

),

ranked as (

    select
        chosen.*,
        -- among the centers that gave a value (those without score 0 anyway)
        percent_rank() over (
            partition by chosen.evaluation_year, chosen.indicator_code, chosen.scored_value is null
            order by chosen.scored_value
        ) as value_percent_rank
    from chosen

),

scored as (

    select
        ranked.*,
        benchmarks.benchmark_value,
        {{ normalized_score(
            'ranked.scored_value', 'ranked.normalization', 'ranked.direction', 'ranked.target_value',
            'benchmarks.min_value', 'benchmarks.max_value', 'benchmarks.benchmark_value', 'ranked.value_percent_rank'
        ) }} as normalized_score
    from ranked
    left join benchmarks
        on
            ranked.evaluation_year = benchmarks.evaluation_year
            and ranked.indicator_code = benchmarks.indicator_code

),

final as (

    select
        center_code,
        evaluation_year,
        scheme_version,
        indicator_code,
        indicator_name,
        indicator_name_en,
        category,
        unit,
        reported_value::numeric(18, 4) as reported_value,
        registry_verified_value::numeric(18, 4) as registry_verified_value,
        value_basis,
        scored_value::numeric(18, 4) as scored_value,
        normalization,
        round(benchmark_value::numeric, 4)::numeric(18, 4) as benchmark_value,
        round(normalized_score::numeric, 2)::numeric(6, 2) as normalized_score,
        weight::numeric(6, 2) as weight,
        -- from the score as shown, so every published contribution is score × weight ÷ 100
        round(round(normalized_score::numeric, 2) * weight / 100, 4)::numeric(10, 4) as contribution
    from scored

)

select * from final
