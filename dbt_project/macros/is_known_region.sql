{#- True when a six-digit code is a Qingdao district (or the city), or lies in a province
    outside Qingdao; reads the region_codes seed through a `regions` CTE in the model. -#}
{% macro is_known_region(code) -%}
    (
        {{ code }} in (
            select regions.region_code from regions
            where regions.region_level in ('district', 'city')
        )
        or (
            {{ code }} ~ '^\d{6}$'
            and left({{ code }}, 4) <> '3702'
            and left({{ code }}, 2) in (
                select left(regions.region_code, 2) from regions
                where regions.region_level = 'province'
            )
        )
    )
{%- endmacro %}
