{#- What the platforms list: research achievements offered, enterprise demands and
    challenge (揭榜挂帅) projects, one row per listing in its current state. Incremental:
    only listings with a version in a batch not processed yet are rebuilt; a listing whose newest
    version is a deletion leaves the table (post-hook). -#}
{{
    config(
        materialized='incremental',
        unique_key=['platform', 'listing_type', 'listing_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=[{'columns': ['last_batch_id']}],
        post_hook=["delete from {{ this }} where is_deleted", "{{ record_batches() }}"],
    )
}}

with

latest as (

    select * from {{ ref('int_platform__latest_versions') }}
    where version_rank = 1

),

in_scope as (

    select * from latest
    {% if is_incremental() -%}
        where (platform, resource, record_id) in (
            select
                carried.platform,
                carried.resource,
                carried.record_id
            from {{ ref('int_platform__latest_versions') }} as carried
            where {{ unseen_batches('carried.batch_id') }}
        )
    {%- endif %}

),

achievements as (

    select * from {{ ref('stg_platform__achievements') }}

),

demands as (

    select * from {{ ref('stg_platform__demands') }}

),

challenges as (

    select * from {{ ref('stg_platform__challenges') }}

),

listings as (

    select
        platform,
        achievement_id as listing_id,
        'achievement' as listing_type,
        title,
        tech_field,
        owner_credit_code as lister_credit_code,
        owner_region_code as lister_region_code,
        null::text as solver_credit_code,
        asking_price as listed_amount,
        maturity,
        transfer_mode,
        published_on,
        null::date as deadline_on,
        status,
        updated_at,
        is_deleted,
        batch_id,
        source_row_number
    from achievements

    union all

    select
        platform,
        demand_id as listing_id,
        'demand' as listing_type,
        title,
        tech_field,
        enterprise_credit_code as lister_credit_code,
        enterprise_region_code as lister_region_code,
        null::text as solver_credit_code,
        budget as listed_amount,
        null::text as maturity,
        null::text as transfer_mode,
        published_on,
        deadline_on,
        status,
        updated_at,
        is_deleted,
        batch_id,
        source_row_number
    from demands

    union all

    select
        platform,
        challenge_id as listing_id,
        'challenge' as listing_type,
        title,
        tech_field,
        issuer_credit_code as lister_credit_code,
        issuer_region_code as lister_region_code,
        solver_credit_code,
        budget as listed_amount,
        null::text as maturity,
        null::text as transfer_mode,
        published_on,
        deadline_on,
        status,
        updated_at,
        is_deleted,
        batch_id,
        source_row_number
    from challenges

),

final as (

    select
        listings.platform,
        listings.listing_id,
        listings.listing_type,
        listings.title,
        listings.tech_field,
        listings.lister_credit_code,
        {{ region_key('listings.lister_region_code', "'156'") }} as lister_region_code,
        listings.solver_credit_code,
        listings.listed_amount,
        listings.maturity,
        listings.transfer_mode,
        listings.published_on,
        listings.deadline_on,
        listings.status,
        listings.updated_at,
        listings.is_deleted,
        listings.batch_id,
        in_scope.last_batch_id
    from listings
    inner join in_scope
        on
            listings.batch_id = in_scope.batch_id
            and listings.source_row_number = in_scope.source_row_number

)

select * from final
