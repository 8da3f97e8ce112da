{#- Every center-year graded (a year awaiting reports, with none loaded yet, and a new
    center's first year, approved after the grading cut-off, excepted: neither is graded) × every indicator of the evaluation scheme in force
    that year (the seed evaluation_scheme, docs/evaluation.md): the value the scheme takes — as
    reported, as the registry verifies it, or the lower of the two; a ratio of two
    reported indicators where the scheme says so — its normalized score (0–100), weight
    and contribution to the total, with everything that explains it: the benchmark, the
    gap to the registry, the labels in Chinese and English. A value the center did not
    give scores 0; so does a rate the report gives no base for (no large instruments),
    with a note saying so. -#}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}
    where is_graded

),

indicators as (

    select * from {{ ref('fct_center_indicators') }}

),

scheme as (

    select * from {{ ref('evaluation_scheme') }}

),

labels as (

    select * from {{ ref('evaluation_labels') }}

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
        scheme.requires_indicator,
        -- the figure the value needs is missing or 0: no value (a rate out of nothing)
        scheme.requires_indicator is not null and coalesce(required.reported_value, 0) <= 0 as lacks_required,
        case
            when scheme.requires_indicator is not null and coalesce(required.reported_value, 0) <= 0 then null
            when scheme.denominator_indicator is null then numerators.reported_value
            else round(numerators.reported_value * 100 / nullif(denominators.reported_value, 0), 4)
        end as reported_value,
        case when scheme.denominator_indicator is null then numerators.registry_verified_value end
            as registry_verified_value,
        numerators.report_file,
        -- a ratio comes from two cells: the numerator's, then the denominator's
        case
            when scheme.denominator_indicator is null then numerators.report_cell
            else concat_ws(' ÷ ', numerators.report_cell, denominators.report_cell)
        end as report_cell
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
    left join indicators as required
        on
            center_years.center_code = required.center_code
            and center_years.evaluation_year = required.evaluation_year
            and scheme.requires_indicator = required.indicator_code

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
        scored.center_code,
        scored.evaluation_year,
        scored.scheme_version,
        scored.indicator_code,
        scored.indicator_name,
        scored.indicator_name_en,
        scored.category,
        categories.label_zh as category_zh,
        categories.label_en as category_en,
        scored.unit,
        coalesce(units.label_en, scored.unit) as unit_en,
        scored.reported_value::numeric(18, 4) as reported_value,
        scored.registry_verified_value::numeric(18, 4) as registry_verified_value,
        (scored.reported_value - scored.registry_verified_value)::numeric(18, 4) as verification_gap,
        coalesce(
            abs(scored.reported_value - scored.registry_verified_value)
            > {{ var('verification_gap_tolerance_pct') }} / 100.0 * greatest(scored.registry_verified_value, 1),
            false
        ) as has_verification_gap,
        scored.report_file,
        nullif(scored.report_cell, '') as report_cell,
        scored.value_basis,
        bases.label_zh as value_basis_zh,
        bases.label_en as value_basis_en,
        scored.scored_value::numeric(18, 4) as scored_value,
        case
            when scored.lacks_required then '未报告' || required_names.indicator_name || '，不计算' || scored.indicator_name
            when scored.scored_value is null then '无数值，得 0 分'
        end as value_note_zh,
        case
            when scored.lacks_required
                then 'No ' || lower(required_names.indicator_name_en) || ' reported: no ' || lower(scored.indicator_name_en)
            when scored.scored_value is null then 'No value: scores 0'
        end as value_note_en,
        scored.normalization,
        methods.label_zh as normalization_zh,
        methods.label_en as normalization_en,
        scored.direction,
        directions.label_zh as direction_zh,
        directions.label_en as direction_en,
        scored.benchmark_percentile::numeric(4, 3) as benchmark_percentile,
        scored.target_value::numeric(18, 4) as target_value,
        round(scored.benchmark_value::numeric, 4)::numeric(18, 4) as benchmark_value,
        round(scored.normalized_score::numeric, 2)::numeric(6, 2) as normalized_score,
        scored.weight::numeric(6, 2) as weight,
        -- from the score as shown, so every published contribution is score × weight ÷ 100
        round(round(scored.normalized_score::numeric, 2) * scored.weight / 100, 4)::numeric(10, 4) as contribution
    from scored
    left join labels as categories
        on categories.kind = 'category' and scored.category = categories.code
    left join labels as bases
        on bases.kind = 'value_basis' and scored.value_basis = bases.code
    left join labels as methods
        on methods.kind = 'normalization' and scored.normalization = methods.code
    left join labels as units
        on units.kind = 'unit' and scored.unit = units.code
    left join labels as directions
        on directions.kind = 'direction' and scored.direction = directions.code
    left join {{ ref('report_indicators') }} as required_names
        on scored.requires_indicator = required_names.indicator_code

)

select * from final
