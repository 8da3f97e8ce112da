{#- Organizations, one identity per unified social credit code across the registry, the
    platforms, the roster and the centers' reports; a version (SCD2) per name the code
    went by. Sources that disagree are resolved by recency: each day keeps one name (the
    best-ranked source's), and a version starts on the first day a different name is seen
    and ends where the next one starts.
    Incremental: observations are append-only and carry their load batch, so an
    organization named in a batch this model has not processed (unseen_batches; found
    through the observations' batch index, without counting all of them) has new
    observations; its versions are computed again from all of them and replace the old. -#}
{{
    config(
        materialized='incremental',
        unique_key='credit_code',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook="{{ record_batches() }}",
    )
}}

with

all_observations as (

    select * from {{ ref('int_organizations__observations') }}

),

{% if is_incremental() %}
    changed as (

        select distinct named.credit_code
        from all_observations as named
        where {{ unseen_batches('named.batch_id') }}

    ),

    observations as (

        select * from all_observations
        where credit_code in (select changed.credit_code from changed)

    ),
{% else %}
    observations as (

        select * from all_observations

    ),
{% endif %}

daily as (

    select distinct on (credit_code, seen_on)
        credit_code,
        seen_on,
        organization_name
    from observations
    order by credit_code asc, seen_on asc, source_rank asc, organization_name asc

),

previous as (

    select
        credit_code,
        seen_on,
        organization_name,
        lag(organization_name) over (partition by credit_code order by seen_on) as previous_name
    from daily

),

changes as (

    select
        previous.credit_code,
        previous.seen_on,
        previous.organization_name,
        case
            when (previous.organization_name is distinct from previous.previous_name) then 1
            else 0
        end as starts_version
    from previous

),

islands as (

    select
        credit_code,
        seen_on,
        organization_name,
        sum(starts_version) over (partition by credit_code order by seen_on) as version_number
    from changes

),

versions as (

    select
        credit_code,
        version_number,
        min(organization_name) as organization_name,
        min(seen_on) as valid_from
    from islands
    group by credit_code, version_number

),

bounded as (

    select
        versions.*,
        lead(versions.valid_from) over (
            partition by versions.credit_code order by versions.version_number
        ) as valid_to
    from versions

),

natures as (

    select distinct on (credit_code)
        credit_code,
        nature_code
    from observations
    where nature_code is not null
    order by credit_code asc, seen_on desc, source_rank asc, nature_code asc

),

homes as (

    select distinct on (credit_code)
        credit_code,
        {{ region_key('region_code', "'156'") }} as region_code
    from observations
    where region_code ~ '^\d{6}$'
    order by credit_code asc, seen_on desc, source_rank asc, region_code asc

),

seen as (

    select
        credit_code,
        min(seen_on) as first_seen_on,
        max(seen_on) as last_seen_on,
        count(*) as observation_count,
        string_agg(distinct source_name, ', ' order by source_name) as seen_in
    from observations
    group by credit_code

),

regions as (

    select * from {{ ref('dim_region') }}

),

final as (

    select
        md5(bounded.credit_code || '|' || bounded.valid_from::text) as organization_key,
        bounded.credit_code,
        bounded.organization_name,
        natures.nature_code,
        case
            when natures.nature_code = '010' then '政府机关'
            when natures.nature_code = '021' then '科研院所'
            when natures.nature_code = '022' then '高等院校'
            when natures.nature_code like '1__' then '企业'
            when natures.nature_code = '400' then '个人'
            when natures.nature_code is not null then '其他'
        end as organization_type,
        coalesce(homes.region_code, '000000') as region_code,
        coalesce(regions.is_qingdao, false) as is_qingdao,
        seen.first_seen_on,
        seen.last_seen_on,
        seen.seen_in,
        seen.observation_count,
        bounded.version_number::int as version_number,
        bounded.valid_from,
        bounded.valid_to,
        bounded.valid_to is null as is_current
    from bounded
    inner join seen
        on bounded.credit_code = seen.credit_code
    left join natures
        on bounded.credit_code = natures.credit_code
    left join homes
        on bounded.credit_code = homes.credit_code
    left join regions
        on coalesce(homes.region_code, '000000') = regions.region_code

)

select * from final
