{#- Helpers for the platform API's records (docs/sources.md). -#}

{#- A party of a record (owner, enterprise, issuer, solver): name, credit code, region. -#}
{% macro platform_party(prefix, with_region=true) -%}
    nullif(btrim(payload ->> '{{ prefix }}_name'), '') as {{ prefix }}_name,
    upper(nullif(btrim(payload ->> '{{ prefix }}_credit_code'), '')) as {{ prefix }}_credit_code
    {%- if with_region %},
    nullif(btrim(payload ->> '{{ prefix }}_region_code'), '') as {{ prefix }}_region_code
    {%- endif %}
{%- endmacro %}

{#- The rows of a typed platform staging model that hold each record's current state:
    its newest version (int_platform__latest_versions), tombstones included. -#}
{% macro current_versions(model) -%}
    select versions.*
    from {{ ref(model) }} as versions
    inner join {{ ref('int_platform__latest_versions') }} as latest
        on
            versions.batch_id = latest.batch_id
            and versions.source_row_number = latest.source_row_number
    where latest.version_rank = 1
{%- endmacro %}

{#- The valid versions of one resource's records, every version (staging keeps them all). -#}
{% macro platform_records(resource) -%}
    select * from {{ ref('stg_platform__records') }}
    where resource = '{{ resource }}'
{%- endmacro %}

{#- The columns every typed platform model ends with: version and lineage. -#}
{% macro platform_version_columns() -%}
    updated_at,
    is_deleted,
    batch_id,
    source_url,
    source_row_number
{%- endmacro %}
