{#- One row per registered technology contract in its latest version. Incremental: a
    contract is rebuilt when a batch it has not processed carries any version of it (see
    unseen_batches: batches may commit out of id order), and its latest
    version is chosen again from all its versions, so a late correction (or a late older
    export, which must not win) lands correctly. -#}
{{
    config(
        materialized='incremental',
        unique_key='registration_no',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook="{{ record_batches() }}",
        indexes=[
            {'columns': ['registration_no'], 'unique': True},
            {'columns': ['last_batch_id']},
            {'columns': ['seller_region_code', 'registered_on']},
        ],
    )
}}

with

versions as (

    select * from {{ ref('int_registry__contract_versions') }}

),

latest as (

    select * from versions
    where
        version_rank = 1
        {% if is_incremental() -%}
            and registration_no in (
                select carried.registration_no from versions as carried
                where {{ unseen_batches('carried.batch_id') }}
            )
        {%- endif %}

),

final as (

    select
        registration_no,
        contract_type,
        contract_subtype,
        signed_on,
        registered_on,
        seller_credit_code,
        seller_nature_code,
        {{ region_key('seller_region_code', "'156'") }} as seller_region_code,
        buyer_credit_code,
        buyer_nature_code,
        {{ region_key('buyer_region_code', 'buyer_country_code') }} as buyer_region_code,
        buyer_country_code,
        contract_amount,
        tech_transaction_amount,
        tech_field,
        ip_type,
        status,
        status = '已登记' as is_registered,
        export_period,
        batch_id,
        last_batch_id
    from latest

)

select * from final
