{#- The parts every staging check (models/staging/*/base/base_*_checks.sql) shares: the raw
    rows it reads, the rules of a delivered field, the row as delivered, and the is_valid
    flag over its "rule|reason" failures. -#}

{#- A raw table's rows a check reads: those of the build's batches, and of them, in an
    incremental check, only the batches it has not checked yet (unseen_batches). -#}
{% macro rows_to_check(source_name, table_name) -%}
    select * from {{ source(source_name, table_name) }}
    where {{ unseen_batches('_batch_id') }}
{%- endmacro %}

{#- A whole `case` for a checks array: the failure "rule|column 'value' reason" of a field
    that is filled (not empty once trimmed) and `broken` (SQL condition) says is wrong. -#}
{% macro field_failure(relation, column, rule, broken, reason) -%}
    case
        when
            nullif(btrim({{ relation }}.{{ column }}), '') is not null
            and {{ broken }}
            then format('{{ rule }}|{{ column }} %L {{ reason }}', {{ relation }}.{{ column }})
    end
{%- endmacro %}

{#- The missing_required_field failure of each empty required column, `case`s separated by
    commas. -#}
{% macro missing_required_fields(relation, columns) -%}
    {%- for column in columns %}
        case
            when nullif(btrim({{ relation }}.{{ column }}), '') is null
                then 'missing_required_field|{{ column }} is empty'
        end{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A filled field its parse (`parsed`, SQL for the parsed value) cannot read. -#}
{% macro invalid_date(relation, column, parsed) -%}
    {{ field_failure(relation, column, 'invalid_date', parsed ~ ' is null', 'is not a date (2025-03-26, 2025/3/26 or 2025年3月26日)') }}
{%- endmacro %}

{% macro invalid_amount(relation, column, parsed) -%}
    {{ field_failure(relation, column, 'invalid_amount', parsed ~ ' is null', 'is not an amount in yuan (1234567.89 or 1,234,567.89)') }}
{%- endmacro %}

{% macro malformed_credit_code(relation, column) -%}
    {{ field_failure(
        relation, column, 'malformed_credit_code',
        'not staging.is_valid_credit_code(upper(btrim(' ~ relation ~ '.' ~ column ~ ')))',
        'is not a valid unified social credit code'
    ) }}
{%- endmacro %}

{% macro unknown_region_code(relation, column) -%}
    {{ field_failure(
        relation, column, 'unknown_region_code',
        'not ' ~ is_known_region('btrim(' ~ relation ~ '.' ~ column ~ ')'),
        'is not a GB/T 2260 code'
    ) }}
{%- endmacro %}

{#- A filled field whose trimmed value is not among `allowed` (SQL: a list of literals or a
    subquery). -#}
{% macro not_allowed(relation, column, rule, allowed, reason) -%}
    {{ field_failure(relation, column, rule, 'btrim(' ~ relation ~ '.' ~ column ~ ') not in (' ~ allowed ~ ')', reason) }}
{%- endmacro %}

{#- A checked row as delivered, for ops.rejects: its columns without the loader's
    (batch, file, row, load time) and the check's own `computed` ones. -#}
{% macro delivered_row(relation, computed=[]) -%}
    to_jsonb({{ relation }})
    {%- for column in computed + ['_batch_id', '_source_file', '_row_number', '_loaded_at'] %} - '{{ column }}'{% endfor %}
{%- endmacro %}

{#- The end of a check: its last CTE, flagged, the checked rows with is_valid (a plain flag
    the planner has statistics for: it cannot estimate cardinality(failures)), and the
    model's select. With `payload_columns`, the row as delivered for ops.rejects too, built
    for the rows that break a rule only. -#}
{% macro flagged_checks(checked='checked', payload_columns=none) -%}
flagged as (

    select
        {{ checked }}.*,
        cardinality({{ checked }}.failures) = 0 as is_valid{{ delivered_payload(checked, payload_columns) if payload_columns }}
    from {{ checked }}

)

select * from flagged
{%- endmacro %}

{#- The payload column of flagged_checks: the row as delivered, its `columns` by name. -#}
{% macro delivered_payload(checked, columns) -%}
    {%- set pairs = [] -%}
    {%- for column in columns -%}
        {%- do pairs.append("'" ~ column ~ "', " ~ checked ~ '.' ~ column) -%}
    {%- endfor -%}
    ,
    case
        when cardinality({{ checked }}.failures) > 0
            then jsonb_build_object({{ pairs | join(', ') }})
    end as payload
{%- endmacro %}
