{#- The dim_region key of a party: its Qingdao district, else its province, else abroad.
    A code that cannot be read gives null: the fact's not_null test on the seller key
    catches it (relationships tests skip nulls). -#}
{% macro region_key(region_code, country_code) -%}
    case
        when nullif(btrim({{ country_code }}), '') is not null
            and btrim({{ country_code }}) <> '156'
            then '900000'
        when btrim({{ region_code }}) ~ '^3702\d\d$'
            then btrim({{ region_code }})
        when btrim({{ region_code }}) ~ '^\d{6}$'
            then left(btrim({{ region_code }}), 2) || '0000'
    end
{%- endmacro %}
