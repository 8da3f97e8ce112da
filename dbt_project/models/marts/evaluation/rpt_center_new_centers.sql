{#- The centers listed as 新建 (new) for a year: in the system on 31 December, but
    approved after the policy's grading cut-off of that year (default 30 June), so they
    barely operated in it. They are not graded for the year, and the year is used
    nowhere: no score, no benchmark, no removal rule, no comprehensive evaluation
    (docs/evaluation.md, "Decisions"). -#}
with

center_years as (

    select * from {{ ref('int_centers__center_years') }}
    where is_new_center

),

regions as (

    select * from {{ ref('dim_region') }}

),

labels as (

    select * from {{ ref('evaluation_labels') }}

),

final as (

    select
        center_years.center_code,
        center_years.evaluation_year,
        center_years.center_name,
        center_years.host_org_name,
        center_years.district_code,
        regions.region_name as district_name,
        regions.region_name_en as district_name_en,
        center_years.industry,
        coalesce(industries.label_en, center_years.industry) as industry_en,
        center_years.approved_on,
        center_years.build_start,
        center_years.build_end,
        center_years.grading_cutoff as cutoff_date,
        '新建' as status_zh,
        'New (not graded)' as status_en
    from center_years
    left join regions
        on center_years.district_code = regions.region_code
    left join labels as industries
        on industries.kind = 'industry' and center_years.industry = industries.code

)

select * from final
