{#- Technology Innovation Centers, a version per change the bureau's roster records
    (SCD2). "Which centers were in the system on day D": the versions with
    valid_from <= D < coalesce(valid_to, 'infinity') and is_in_system. -#}
with

versions as (

    select * from {{ ref('int_centers__roster_versions') }}

),

final as (

    select
        md5(center_code || '|' || valid_from::text) as center_key,
        center_code,
        version_number,
        center_name,
        host_org_name,
        host_credit_code,
        district_code,
        industry,
        approval_batch,
        approved_on,
        build_start,
        build_end,
        status,
        is_in_system,
        first_roster_year,
        last_roster_year,
        valid_from,
        valid_to,
        is_current
    from versions

)

select * from final
