-- sqlfluff:exclude_rules:LT02
{#- (For the linter, outside the macro, which dbt ignores: the functions' bodies are
    dollar-quoted and hold regular expressions ending in $, which sqlfluff's lexer pairs
    with the wrong $fn$, and the credit code's weighted sum is a Jinja loop, so layout.indent
    reports indents the rendered SQL does not have; every other rule still applies.) -#}
{#- SQL functions for the value formats upstream uses. They return null for a value
    they cannot read, so staging can route the row to the rejects with a reason. -#}
{% macro create_parsing_functions() %}
-- concurrent dbt invocations (Cosmos tasks on several workers) replace these one at a time
select pg_advisory_xact_lock(hashtext('ttw.parsing_functions'));
create schema if not exists staging;

-- 2025-03-26, 2025/3/26 and 2025年3月26日; null for anything else or an impossible date.
-- The shape is checked by a match without capture groups and the parts are cut out by
-- translate and split_part: PostgreSQL's regexp_match with groups costs about 20 µs a
-- call, which made this function the largest cost of the registry checks.
create or replace function staging.parse_cn_date(value text) returns date
language plpgsql immutable parallel safe as $fn$
declare
    cleaned text := btrim(value);
    year_part int;
    month_part int;
    day_part int;
begin
    if cleaned !~ '^\d{4}\s*[-/年]\s*\d{1,2}\s*[-/月]\s*\d{1,2}\s*日?$' then
        return null;
    end if;
    -- 年, 月 and / become -, 日 and white space go: 2025-3-26
    cleaned := translate(cleaned, E'年月/日 \t\n\r\f\v', '---');
    year_part := split_part(cleaned, '-', 1)::int;
    month_part := split_part(cleaned, '-', 2)::int;
    day_part := split_part(cleaned, '-', 3)::int;
    if year_part < 1 or month_part not between 1 and 12 then
        return null;
    end if;
    if day_part not between 1 and extract(
        day from make_date(year_part, month_part, 1) + interval '1 month - 1 day'
    )::int then
        return null;
    end if;
    return make_date(year_part, month_part, day_part);
end
$fn$;

-- yuan amounts such as 1234567, 1,234,567 or 1,234,567.50; null when not a number. A
-- thousands separator (, or ，) only ever parts groups of three from the left: 1234,56
-- and 1,23,456 are not amounts. At most 16 digits before the point (numeric(18, 2)).
create or replace function staging.parse_amount(value text) returns numeric(18, 2)
language sql immutable parallel safe as $fn$
    select
        case
            when cleaned ~ '^-?(\d{1,16}|\d{1,3}(,\d{3}){1,4}|\d(,\d{3}){5})(\.\d{1,2})?$'
                then replace(cleaned, ',', '')::numeric(18, 2)
        end
    from (select replace(btrim(value), '，', ',') as cleaned) as v
$fn$;

-- a reported figure: 1234, 1,234.5, 92.5%; null when not a number. Thousands separators
-- as in parse_amount: groups of three only.
create or replace function staging.parse_number(value text) returns numeric
language sql immutable parallel safe as $fn$
    select
        case
            when cleaned ~ '^-?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?\s*%?$'
                then replace(regexp_replace(cleaned, '\s*%$', ''), ',', '')::numeric
        end
    from (select replace(btrim(value), '，', ',') as cleaned) as v
$fn$;

-- ISO 8601 times as the platform API sends them (2025-03-26T09:30:00+08:00); null for
-- anything else, including impossible dates the pattern lets through
create or replace function staging.parse_iso_timestamp(value text) returns timestamptz
language plpgsql immutable parallel safe as $fn$
begin
    if btrim(value) !~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$' then
        return null;
    end if;
    return btrim(value)::timestamptz;
exception when others then
    return null;
end
$fn$;

-- GB 32100-2015 unified social credit code: 18 characters, check character last. The
-- weighted sum is written out term by term, one expression: a sum over generate_series
-- is a subquery run on every call, and cost three times as much.
{%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' %}
{%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] %}
create or replace function staging.is_valid_credit_code(value text) returns boolean
language sql immutable parallel safe as $fn$
    select
        case
            when value !~ '^[0-9A-HJ-NPQRTUWXY]{18}$' then false
            else substr(
                '{{ alphabet }}',
                (31 - (
                    {%- for weight in weights %}
                    {% if not loop.first %}+ {% endif %}(strpos('{{ alphabet }}', substr(value, {{ loop.index }}, 1)) - 1) * {{ weight }}
                    {%- endfor %}
                ) % 31) % 31 + 1,
                1
            ) = substr(value, 18, 1)
        end
$fn$;
{% endmacro %}

{#- `dbt run-operation install_parsing_functions`: the same functions outside a build. -#}
{% macro install_parsing_functions() %}
    {% do run_query(create_parsing_functions()) %}
{% endmacro %}
