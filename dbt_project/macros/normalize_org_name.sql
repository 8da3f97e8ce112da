{#- One spelling per organization name: trimmed, full-width brackets and spaces made
    half-width, runs of spaces collapsed. "青岛某某（集团）有限公司 " and
    "青岛某某(集团)有限公司" are the same name. -#}
{% macro normalize_org_name(name) -%}
    nullif(
        regexp_replace(translate(btrim({{ name }}), '（）　', '() '), '\s+', ' ', 'g'),
        ''
    )
{%- endmacro %}
