{#- Every time a source names an organization by its unified social credit code: the
    name (normalised), what else it says about it, the day, and which source. Sources rank
    for a tie on the same day: the bureau's roster, then the registry, then the centers'
    own reports, then the platforms. Raw batches are append-only, so observations are
    too: an incremental build appends those of the batches it has not processed yet. -#}
{{
    config(
        materialized='incremental',
        indexes=[{'columns': ['credit_code']}, {'columns': ['source_name', 'batch_id']}],
        on_schema_change='fail',
        post_hook="{{ record_batches() }}",
    )
}}
{%- set platform_parties = [
    ('stg_platform__achievements', 'owner', true),
    ('stg_platform__demands', 'enterprise', true),
    ('stg_platform__challenges', 'issuer', true),
    ('stg_platform__challenges', 'solver', false),
    ('stg_platform__financing_needs', 'enterprise', true),
    ('stg_platform__loans', 'enterprise', true),
] -%}

with

contracts as (

    select * from {{ ref('stg_registry__contracts') }}

),

roster as (

    select * from {{ ref('stg_centers__roster') }}

),

report_fields as (

    select * from {{ ref('stg_reports__fields') }}

),

report_hosts as (

    select
        batch_id,
        max(field_value) filter (where field_label = '依托单位') as host_org_name,
        upper(max(field_value) filter (where field_label = '依托单位统一社会信用代码')) as host_credit_code,
        substring(max(field_value) filter (where field_label = '报告年度') from '^(\d{4})')::int as report_year
    from report_fields
    group by batch_id

),

observations as (

    select
        seller_credit_code as credit_code,
        seller_name as organization_name,
        seller_nature_code as nature_code,
        seller_region_code as region_code,
        registered_on as seen_on,
        'registry' as source_name,
        2 as source_rank,
        batch_id
    from contracts
    where {{ unseen_batches('batch_id') }}

    union all

    select
        buyer_credit_code as credit_code,
        buyer_name as organization_name,
        buyer_nature_code as nature_code,
        buyer_region_code as region_code,
        registered_on as seen_on,
        'registry' as source_name,
        2 as source_rank,
        batch_id
    from contracts
    where
        buyer_credit_code is not null
        and {{ unseen_batches('batch_id') }}

    union all

    select
        host_credit_code as credit_code,
        host_org_name as organization_name,
        null::text as nature_code,
        district_code as region_code,
        roster_date as seen_on,
        'roster' as source_name,
        1 as source_rank,
        batch_id
    from roster
    where {{ unseen_batches('batch_id') }}

    union all

    select
        host_credit_code as credit_code,
        host_org_name as organization_name,
        null::text as nature_code,
        null::text as region_code,
        make_date(report_year, 12, 31) as seen_on,
        'reports' as source_name,
        3 as source_rank,
        batch_id
    from report_hosts
    where
        report_year is not null
        and {{ unseen_batches('batch_id') }}

    {% for model, party, has_region in platform_parties %}
        union all

        select
            {{ party }}_credit_code as credit_code,
            {{ party }}_name as organization_name,
            null::text as nature_code,
            {{ party ~ '_region_code' if has_region else 'null::text' }} as region_code,
            (updated_at at time zone 'Asia/Shanghai')::date as seen_on,
            'platforms' as source_name,
            4 as source_rank,
            batch_id
        from {{ ref(model) }}
        where {{ unseen_batches('batch_id') }}
    {% endfor %}

),

normalised as (

    select
        credit_code,
        {{ normalize_org_name('organization_name') }} as organization_name,
        nullif(btrim(nature_code), '') as nature_code,
        nullif(btrim(region_code), '') as region_code,
        seen_on,
        source_name,
        source_rank,
        batch_id
    from observations
    where
        staging.is_valid_credit_code(credit_code)
        and nullif(btrim(organization_name), '') is not null

)

select * from normalised
