{#- The dim_region key of a party: its Qingdao district, else its province, abroad
    (900000) for a foreign country, unknown (000000) when no region is given. A code that
    cannot be read gives null: staging rejects such rows, and a fact's not_null test on
    the key catches any that slip through (relationships tests skip nulls). -#}
{% macro region_key(region_code, country_code) -%}
    case
        when nullif(btrim({{ country_code }}), '') is not null
            and btrim({{ country_code }}) <> '156'
            then '900000'
        when nullif(btrim({{ region_code }}), '') is null
            then '000000'
        when btrim({{ region_code }}) ~ '^3702\d\d$'
            then btrim({{ region_code }})
        when btrim({{ region_code }}) ~ '^\d{6}$'
            then left(btrim({{ region_code }}), 2) || '0000'
    end
{%- endmacro %}
